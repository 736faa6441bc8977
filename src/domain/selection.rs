//! Which contacts an operation applies to (U2, R6) and who performs it (R7).

use super::ids::{truncate_for_message, ContactId, UserId, WorkflowId};
use super::{InvalidInput, TagName};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// More explicit ids than this in one request are refused: larger selections use
/// "select all" with a filter, which the server resolves itself.
pub const MAX_IDS_PER_REQUEST: usize = 10_000;

/// The search and tag filter of the contacts list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFilter {
    /// Lower-cased search text, matched against name, email, phone and company.
    pub q: Option<String>,
    pub tag: Option<TagName>,
}

impl ContactFilter {
    pub fn parse(q: Option<&str>, tag: Option<&str>) -> Result<Self, InvalidInput> {
        let q = q.map(str::trim).filter(|s| !s.is_empty());
        if let Some(q) = q {
            if q.chars().count() > 200 {
                return Err(InvalidInput::new("The search text is too long (200 characters at most)."));
            }
        }
        let tag = match tag.map(str::trim).filter(|s| !s.is_empty()) {
            Some(t) => Some(TagName::parse(t)?),
            None => None,
        };
        Ok(ContactFilter { q: q.map(|s| s.to_lowercase()), tag })
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_none() && self.tag.is_none()
    }

    /// A description for the audit log that names no person (R10): the search text
    /// may be an email address, so only its presence is recorded.
    pub fn describe(&self) -> String {
        match (&self.q, &self.tag) {
            (None, None) => "all contacts".to_string(),
            (Some(_), None) => "all contacts matching a search".to_string(),
            (None, Some(t)) => format!("all contacts tagged \"{}\"", t.as_str()),
            (Some(_), Some(t)) => format!("all contacts tagged \"{}\" matching a search", t.as_str()),
        }
    }
}

/// A selection of contacts: explicit ids, or everything matching a filter at the
/// moment the admin saw the page, minus the rows they unticked (R6, U2).
///
/// Stored as JSON with a `kind` field while a deletion runs (see [`StoredSelection`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredSelection", into = "StoredSelection")]
pub enum Selection {
    Ids(Vec<ContactId>),
    AllMatching {
        filter: ContactFilter,
        as_of: DateTime<Utc>,
        exclude: Vec<ContactId>,
    },
}

/// The stored form of a [`Selection`]: `{"kind":"ids","ids":[…]}` or
/// `{"kind":"all_matching","filter":…,"as_of":…,"exclude":[…]}`. An internally tagged
/// enum cannot hold a bare list, so the ids get a field of their own.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredSelection {
    Ids {
        ids: Vec<ContactId>,
    },
    AllMatching {
        filter: ContactFilter,
        as_of: DateTime<Utc>,
        exclude: Vec<ContactId>,
    },
}

impl From<StoredSelection> for Selection {
    fn from(s: StoredSelection) -> Self {
        match s {
            StoredSelection::Ids { ids } => Selection::Ids(ids),
            StoredSelection::AllMatching { filter, as_of, exclude } => Selection::AllMatching { filter, as_of, exclude },
        }
    }
}

impl From<Selection> for StoredSelection {
    fn from(s: Selection) -> Self {
        match s {
            Selection::Ids(ids) => StoredSelection::Ids { ids },
            Selection::AllMatching { filter, as_of, exclude } => StoredSelection::AllMatching { filter, as_of, exclude },
        }
    }
}

impl Selection {
    /// Explicit ids: at least one, at most [`MAX_IDS_PER_REQUEST`], duplicates folded.
    pub fn ids(mut ids: Vec<ContactId>) -> Result<Self, InvalidInput> {
        if ids.is_empty() {
            return Err(InvalidInput::new("Select at least one contact."));
        }
        if ids.len() > MAX_IDS_PER_REQUEST {
            return Err(InvalidInput(format!(
                "Too many contacts listed one by one ({}); use \"Select all\" instead (at most {} ids).",
                ids.len(),
                MAX_IDS_PER_REQUEST
            )));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(Selection::Ids(ids))
    }

    pub fn all_matching(
        filter: ContactFilter,
        as_of: DateTime<Utc>,
        mut exclude: Vec<ContactId>,
    ) -> Result<Self, InvalidInput> {
        if exclude.len() > MAX_IDS_PER_REQUEST {
            return Err(InvalidInput::new("Too many excluded contacts."));
        }
        exclude.sort_unstable();
        exclude.dedup();
        Ok(Selection::AllMatching { filter, as_of, exclude })
    }

    /// Parses the repeated `ids` form field.
    pub fn parse_ids<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Vec<ContactId>, InvalidInput> {
        let mut out = Vec::new();
        for (n, s) in raw.into_iter().enumerate() {
            if n >= MAX_IDS_PER_REQUEST {
                return Err(InvalidInput(format!(
                    "Too many contacts listed one by one; use \"Select all\" instead (at most {MAX_IDS_PER_REQUEST} ids)."
                )));
            }
            out.push(ContactId::parse(s)?);
        }
        Ok(out)
    }

    /// Parses the `as_of` moment the list page was rendered with (RFC 3339).
    pub fn parse_as_of(raw: Option<&str>) -> Result<DateTime<Utc>, InvalidInput> {
        let raw = raw.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
            InvalidInput::new("\"Select all\" needs the moment the list was shown (as_of); reload the page and try again.")
        })?;
        DateTime::parse_from_rfc3339(raw)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| InvalidInput(format!("\"{}\" is not a valid as_of moment.", truncate_for_message(raw))))
    }

    /// A select-all never reaches past the present: an `as_of` in the future (a wrong
    /// clock in the browser, or a forged form) becomes `now` (R6).
    pub fn not_after(self, now: DateTime<Utc>) -> Self {
        match self {
            Selection::AllMatching { filter, as_of, exclude } if as_of > now => Selection::AllMatching { filter, as_of: now, exclude },
            other => other,
        }
    }

    /// Words for the audit log: ids and counts, never names or emails (R10).
    pub fn describe(&self) -> String {
        match self {
            Selection::Ids(ids) if ids.len() == 1 => format!("contact #{}", ids[0]),
            Selection::Ids(ids) => format!("{} selected contacts", ids.len()),
            Selection::AllMatching { filter, as_of, exclude } => {
                let mut s = format!("{} as of {}", filter.describe(), as_of.format("%Y-%m-%d %H:%M:%S UTC"));
                if !exclude.is_empty() {
                    s.push_str(&format!(", except {} unticked", exclude.len()));
                }
                s
            }
        }
    }
}

/// How an operation reached the repository (R7's channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Ui,
    Workflow(WorkflowId),
    Cli,
    System,
    /// A request made with an API key; the actor is the key's own user.
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Ui => "ui",
            Channel::Workflow(_) => "workflow",
            Channel::Cli => "cli",
            Channel::System => "system",
            Channel::Api => "api",
        }
    }

    pub fn workflow_id(self) -> Option<WorkflowId> {
        match self {
            Channel::Workflow(id) => Some(id),
            _ => None,
        }
    }
}

/// Who performs an operation: a user (for a workflow, the admin who activated it),
/// or the system itself (purge) with no user. A workflow's deletion also names the
/// user whose action (a tag, a test run) made it run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user: Option<UserId>,
    pub channel: Channel,
    pub triggered_by: Option<UserId>,
}

impl Actor {
    pub fn ui(user: UserId) -> Self {
        Actor { user: Some(user), channel: Channel::Ui, triggered_by: None }
    }
    pub fn cli(user: Option<UserId>) -> Self {
        Actor { user, channel: Channel::Cli, triggered_by: None }
    }
    /// A workflow's action, on behalf of the admin who activated it (or who tests it),
    /// run because `triggered_by` added its tag.
    pub fn workflow(workflow: WorkflowId, on_behalf_of: UserId, triggered_by: Option<UserId>) -> Self {
        Actor { user: Some(on_behalf_of), channel: Channel::Workflow(workflow), triggered_by }
    }
    /// A request made with an API key, as the key's own user.
    pub fn api(key_user: UserId) -> Self {
        Actor { user: Some(key_user), channel: Channel::Api, triggered_by: None }
    }
    pub fn system() -> Self {
        Actor { user: None, channel: Channel::System, triggered_by: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_and_fold_duplicates() {
        assert!(Selection::ids(vec![]).is_err());
        let s = Selection::ids(vec![ContactId(3), ContactId(1), ContactId(3)]).unwrap();
        assert_eq!(s, Selection::Ids(vec![ContactId(1), ContactId(3)]));
    }

    #[test]
    fn parse_ids_refuses_garbage_and_floods() {
        assert!(Selection::parse_ids(["1", "x"]).is_err());
        let many: Vec<String> = (1..=MAX_IDS_PER_REQUEST + 1).map(|n| n.to_string()).collect();
        assert!(Selection::parse_ids(many.iter().map(String::as_str)).is_err());
    }

    #[test]
    fn as_of_is_required_and_parsed() {
        assert!(Selection::parse_as_of(None).is_err());
        assert!(Selection::parse_as_of(Some("yesterday")).is_err());
        let t = Selection::parse_as_of(Some("2026-01-02T03:04:05.123Z")).unwrap();
        assert_eq!(t.timestamp_millis() % 1000, 123);
    }

    #[test]
    fn descriptions_never_carry_the_search_text() {
        let f = ContactFilter::parse(Some("jane@example.com"), None).unwrap();
        assert_eq!(f.q.as_deref(), Some("jane@example.com"));
        let s = Selection::all_matching(f, Utc::now(), vec![ContactId(9)]).unwrap();
        let d = s.describe();
        assert!(!d.contains("jane"), "{d}");
        assert!(d.contains("except 1 unticked"), "{d}");
    }

    #[test]
    fn both_kinds_round_trip_through_json() {
        let ids = Selection::ids(vec![ContactId(2), ContactId(1)]).unwrap();
        let json = serde_json::to_string(&ids).unwrap();
        assert_eq!(json, r#"{"kind":"ids","ids":[1,2]}"#);
        assert_eq!(serde_json::from_str::<Selection>(&json).unwrap(), ids);
        let f = ContactFilter::parse(Some("acme"), Some("VIP")).unwrap();
        let all = Selection::all_matching(f, Utc::now(), vec![ContactId(7)]).unwrap();
        let json = serde_json::to_string(&all).unwrap();
        assert!(json.starts_with(r#"{"kind":"all_matching","filter":"#), "{json}");
        assert_eq!(serde_json::from_str::<Selection>(&json).unwrap(), all);
    }

    #[test]
    fn a_future_as_of_is_brought_back_to_now() {
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let s = Selection::all_matching(ContactFilter::default(), later, vec![]).unwrap().not_after(now);
        assert!(matches!(s, Selection::AllMatching { as_of, .. } if as_of == now));
        let earlier = now - chrono::Duration::hours(1);
        let s = Selection::all_matching(ContactFilter::default(), earlier, vec![]).unwrap().not_after(now);
        assert!(matches!(s, Selection::AllMatching { as_of, .. } if as_of == earlier));
    }

    #[test]
    fn filter_lowercases_and_limits() {
        let f = ContactFilter::parse(Some("  ACME "), Some("")).unwrap();
        assert_eq!(f.q.as_deref(), Some("acme"));
        assert!(f.tag.is_none());
        assert!(ContactFilter::parse(Some(&"a".repeat(201)), None).is_err());
    }
}
