//! Workflows (W1–W4): a trigger "Contact tag added" and ordered actions.

use super::{InvalidInput, TagName};
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
}
