//! Workflows (W1–W4): a trigger "Contact tag added" and ordered actions.

use super::{DeleteConfirmation, InvalidInput, Role, TagName, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkflowAction {
    DeleteContact,
    AddTag { tag: TagName },
    RemoveTag { tag: TagName },
}

impl WorkflowAction {
    /// Parses one action row of the editor: its kind and, for tag actions, the tag.
    pub fn parse(kind: &str, tag: &str) -> Result<Option<Self>, InvalidInput> {
        match kind.trim() {
            "" => Ok(None),
            "delete_contact" => Ok(Some(WorkflowAction::DeleteContact)),
            "add_tag" => Ok(Some(WorkflowAction::AddTag { tag: TagName::parse(tag)? })),
            "remove_tag" => Ok(Some(WorkflowAction::RemoveTag { tag: TagName::parse(tag)? })),
            other => Err(InvalidInput(format!(
                "Unknown action \"{}\".",
                super::ids::truncate_for_message(other)
            ))),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            WorkflowAction::DeleteContact => "delete_contact",
            WorkflowAction::AddTag { .. } => "add_tag",
            WorkflowAction::RemoveTag { .. } => "remove_tag",
        }
    }

    pub fn tag(&self) -> Option<&TagName> {
        match self {
            WorkflowAction::AddTag { tag } | WorkflowAction::RemoveTag { tag } => Some(tag),
            WorkflowAction::DeleteContact => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            WorkflowAction::DeleteContact => "Delete contact".into(),
            WorkflowAction::AddTag { tag } => format!("Add tag “{}”", tag.as_str()),
            WorkflowAction::RemoveTag { tag } => format!("Remove tag “{}”", tag.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowStatus {
    Draft,
    Active,
    Paused,
}

impl WorkflowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Draft => "draft",
            WorkflowStatus::Active => "active",
            WorkflowStatus::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        match s {
            "draft" => Ok(WorkflowStatus::Draft),
            "active" => Ok(WorkflowStatus::Active),
            "paused" => Ok(WorkflowStatus::Paused),
            _ => Err(InvalidInput::new("Unknown workflow status.")),
        }
    }
}

/// What the editor saves: a name, the tag whose addition triggers it, the actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowDraft {
    pub name: String,
    pub trigger_tag: TagName,
    pub actions: Vec<WorkflowAction>,
}

pub const MAX_ACTIONS: usize = 10;

impl WorkflowDraft {
    pub fn parse(name: &str, trigger_tag: &str, actions: Vec<WorkflowAction>) -> Result<Self, InvalidInput> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(InvalidInput::new("A workflow needs a name of 1 to 100 characters."));
        }
        let trigger_tag = TagName::parse(trigger_tag)
            .map_err(|e| InvalidInput(format!("Trigger: {}", e.0)))?;
        if actions.is_empty() {
            return Err(InvalidInput::new("Add at least one action."));
        }
        if actions.len() > MAX_ACTIONS {
            return Err(InvalidInput(format!("A workflow has at most {MAX_ACTIONS} actions.")));
        }
        Ok(WorkflowDraft { name: name.to_string(), trigger_tag, actions })
    }

    pub fn deletes(&self) -> bool {
        deletes(&self.actions)
    }
}

pub fn deletes(actions: &[WorkflowAction]) -> bool {
    actions.contains(&WorkflowAction::DeleteContact)
}

/// Who adds a tag, and whether they agreed to the deletions it may start. A tag starts
/// every active workflow it triggers, and through their "Add tag" actions the
/// workflows those tags trigger: when one of them deletes, adding the tag deletes
/// contacts, which only an admin who typed DELETE may do (R1, R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagAuthority {
    /// The person whose action adds the tag (named in the audit of what it starts).
    pub user: Option<UserId>,
    pub is_admin: bool,
    confirmed: bool,
}

impl TagAuthority {
    /// A person adding a tag by hand, by bulk "Add tag" or by import; `confirm` is the
    /// typed DELETE they gave, if any. It counts only for an admin.
    pub fn person(user: UserId, role: Role, confirm: Option<DeleteConfirmation>) -> Self {
        TagAuthority { user: Some(user), is_admin: role.is_admin(), confirmed: role.is_admin() && confirm.is_some() }
    }

    /// A workflow's own "Add tag", run for a tag someone else added: it carries what
    /// that person agreed to, no more.
    pub fn chained(triggered_by: Option<UserId>, confirmed: bool) -> Self {
        TagAuthority { user: triggered_by, is_admin: confirmed, confirmed }
    }

    /// May the tag start workflows that delete contacts?
    pub fn may_start_deletions(&self) -> bool {
        self.confirmed
    }
}

/// An active workflow as the tag triggers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveWorkflow {
    pub id: i64,
    pub name: String,
    pub trigger_tag: String,
    pub actions: Vec<WorkflowAction>,
}

/// What adding a tag starts among the account's active workflows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagTriggers {
    /// The workflows the tag triggers directly (runs queued with the tag).
    pub direct: Vec<i64>,
    /// The names of the workflows that delete among all it starts, directly or through
    /// other workflows' "Add tag" actions.
    pub deleting: Vec<String>,
}

impl TagTriggers {
    /// Follows `tag` through `active` workflows: each one it triggers runs, and each
    /// "Add tag" of those triggers more. Cycles end because a workflow is visited once.
    pub fn of(tag: &str, active: &[ActiveWorkflow]) -> Self {
        let mut out = TagTriggers::default();
        let mut seen = vec![false; active.len()];
        let mut tags = vec![tag.to_string()];
        let mut first = true;
        while let Some(t) = tags.pop() {
            for (i, w) in active.iter().enumerate() {
                if seen[i] || w.trigger_tag != t {
                    continue;
                }
                seen[i] = true;
                if first {
                    out.direct.push(w.id);
                }
                // actions after a deletion do not run: the contact is gone
                for a in &w.actions {
                    match a {
                        WorkflowAction::DeleteContact => {
                            out.deleting.push(w.name.clone());
                            break;
                        }
                        WorkflowAction::AddTag { tag } => tags.push(tag.as_str().to_string()),
                        WorkflowAction::RemoveTag { .. } => {}
                    }
                }
            }
            first = false;
        }
        out
    }

    /// The deleting workflows' names, quoted: "“A”", "“A”, “B”".
    pub fn deleting_names(&self) -> String {
        self.deleting.iter().map(|n| format!("“{n}”")).collect::<Vec<_>>().join(", ")
    }

    /// Why adding `tag` to `contacts` contacts needs an admin's typed DELETE.
    pub fn explain(&self, tag: &str, contacts: u64) -> String {
        let names = self.deleting_names();
        let (runs, verb) = match self.deleting.len() {
            1 => (names, "deletes"),
            _ => (format!("the workflows {names}"), "delete"),
        };
        let n = super::plural(contacts as i64, "contact", "contacts");
        format!("Adding “{tag}” runs {runs}, which {verb} {n}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_actions_and_drafts() {
        assert_eq!(WorkflowAction::parse("", "").unwrap(), None);
        assert_eq!(WorkflowAction::parse("delete_contact", "").unwrap(), Some(WorkflowAction::DeleteContact));
        assert!(WorkflowAction::parse("add_tag", "").is_err());
        assert!(WorkflowAction::parse("drop_table", "").is_err());
        let d = WorkflowDraft::parse(" Clean-up ", "Unsubscribed", vec![WorkflowAction::DeleteContact]).unwrap();
        assert_eq!(d.name, "Clean-up");
        assert!(d.deletes());
        assert!(WorkflowDraft::parse("x", "Unsubscribed", vec![]).is_err());
        assert!(WorkflowDraft::parse("", "Unsubscribed", vec![WorkflowAction::DeleteContact]).is_err());
        assert!(WorkflowDraft::parse("x", " ", vec![WorkflowAction::DeleteContact]).is_err());
    }

    #[test]
    fn actions_round_trip_through_json() {
        let a = vec![WorkflowAction::AddTag { tag: TagName::parse("Gone").unwrap() }, WorkflowAction::DeleteContact];
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Vec<WorkflowAction>>(&json).unwrap(), a);
    }

    fn wf(id: i64, trigger: &str, actions: Vec<WorkflowAction>) -> ActiveWorkflow {
        ActiveWorkflow { id, name: format!("W{id}"), trigger_tag: trigger.into(), actions }
    }

    fn add(t: &str) -> WorkflowAction {
        WorkflowAction::AddTag { tag: TagName::parse(t).unwrap() }
    }

    #[test]
    fn a_tag_reaches_deleting_workflows_through_add_tag_chains() {
        let active = vec![
            wf(1, "A", vec![add("B")]),
            wf(2, "B", vec![WorkflowAction::DeleteContact]),
            wf(3, "C", vec![add("A")]),
            wf(4, "Loop", vec![add("Loop")]),
            wf(5, "D", vec![WorkflowAction::DeleteContact, add("B")]),
        ];
        let t = TagTriggers::of("C", &active);
        assert_eq!(t.direct, vec![3]);
        assert_eq!(t.deleting, vec!["W2".to_string()]);
        assert_eq!(TagTriggers::of("B", &active).deleting, vec!["W2".to_string()]);
        assert!(TagTriggers::of("Loop", &active).deleting.is_empty(), "a cycle ends");
        assert_eq!(TagTriggers::of("Loop", &active).direct, vec![4]);
        assert!(TagTriggers::of("Other", &active).direct.is_empty());
        let d = TagTriggers::of("D", &active);
        assert_eq!(d.deleting, vec!["W5".to_string()], "nothing runs after a deletion");
        assert_eq!(d.explain("D", 1), "Adding “D” runs “W5”, which deletes 1 contact.");
        let two = TagTriggers { direct: vec![], deleting: vec!["X".into(), "Y".into()] };
        assert_eq!(two.explain("T", 50_330), "Adding “T” runs the workflows “X”, “Y”, which delete 50,330 contacts.");
    }

    #[test]
    fn only_an_admin_who_typed_delete_may_start_deletions() {
        let ok = DeleteConfirmation::parse("DELETE").ok();
        assert!(TagAuthority::person(UserId(1), Role::Admin, ok).may_start_deletions());
        assert!(!TagAuthority::person(UserId(1), Role::Admin, None).may_start_deletions());
        assert!(!TagAuthority::person(UserId(1), Role::User, ok).may_start_deletions());
        assert!(!TagAuthority::chained(Some(UserId(1)), false).may_start_deletions());
    }
}
