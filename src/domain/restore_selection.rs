//! What the Restore page shows and what a restore applies to (U6, R8, R12): the filters
//! of deleted contacts (when, by whom, by which workflow, in which deletion), the sort
//! of the list, and a restore selection — ticked ids, or every deleted contact matching
//! a filter as the admin saw it (`as_of`), minus the rows they unticked (U2 on the
//! Restore page). Also the one name a deletion goes by on every page.

use super::ids::{truncate_for_message, BatchId, ContactId, UserId, WorkflowId};
use super::text::thousands;
use super::InvalidInput;
use super::MAX_IDS_PER_REQUEST;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// "Deleted when": a period that ends at the moment the page was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletedWithin {
    Day,
    Week,
    Month,
}

impl DeletedWithin {
    pub const ALL: [DeletedWithin; 3] = [DeletedWithin::Day, DeletedWithin::Week, DeletedWithin::Month];

    /// The URL value: `24h`, `7d`, `30d`; empty or `all` for no limit.
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        match raw.map(str::trim).unwrap_or("") {
            "" | "all" => Ok(None),
            "24h" => Ok(Some(DeletedWithin::Day)),
            "7d" => Ok(Some(DeletedWithin::Week)),
            "30d" => Ok(Some(DeletedWithin::Month)),
            other => Err(InvalidInput(format!(
                "\"{}\" is not a period to filter by; choose the last 24 hours, 7 days, 30 days or any time.",
                truncate_for_message(other)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeletedWithin::Day => "24h",
            DeletedWithin::Week => "7d",
            DeletedWithin::Month => "30d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeletedWithin::Day => "Last 24 hours",
            DeletedWithin::Week => "Last 7 days",
            DeletedWithin::Month => "Last 30 days",
        }
    }

    pub fn duration(self) -> Duration {
        match self {
            DeletedWithin::Day => Duration::hours(24),
            DeletedWithin::Week => Duration::days(7),
            DeletedWithin::Month => Duration::days(30),
        }
    }
}

/// The Restore page's filters. Empty: every deleted contact still inside the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedFilter {
    /// Lower-cased search text (name, email, phone, company).
    pub q: Option<String>,
    pub within: Option<DeletedWithin>,
    /// Deleted by this user (for a workflow's deletion: the admin it acts for).
    pub by: Option<UserId>,
    pub workflow: Option<WorkflowId>,
    pub batch: Option<BatchId>,
}

impl DeletedFilter {
    /// Parses the page's query fields; blank fields are no filter.
    pub fn parse(
        q: Option<&str>,
        within: Option<&str>,
        by: Option<&str>,
        workflow: Option<&str>,
        batch: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        let q = q.map(str::trim).filter(|s| !s.is_empty());
        if let Some(q) = q {
            if q.chars().count() > 200 {
                return Err(InvalidInput::new("The search text is too long (200 characters at most)."));
            }
            if q.chars().any(char::is_control) {
                return Err(InvalidInput::new("The search text holds control characters; type plain text."));
            }
        }
        fn id<T>(raw: Option<&str>, parse: fn(&str) -> Result<T, InvalidInput>) -> Result<Option<T>, InvalidInput> {
            match raw.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => parse(s).map(Some),
            }
        }
        Ok(DeletedFilter {
            q: q.map(str::to_lowercase),
            within: DeletedWithin::parse(within)?,
            by: id(by, UserId::parse)?,
            workflow: id(workflow, WorkflowId::parse)?,
            batch: id(batch, BatchId::parse)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == DeletedFilter::default()
    }

    /// Words for the audit log: which filters were set, never the search text (R10).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.q.is_some() {
            parts.push("matching a search".to_string());
        }
        if let Some(w) = self.within {
            parts.push(format!("deleted in the {}", w.label().to_lowercase()));
        }
        if let Some(u) = self.by {
            parts.push(format!("deleted by user #{u}"));
        }
        if let Some(w) = self.workflow {
            parts.push(format!("deleted by workflow #{w}"));
        }
        if let Some(b) = self.batch {
            parts.push(format!("of deletion #{b}"));
        }
        if parts.is_empty() {
            "all deleted contacts".to_string()
        } else {
            format!("all deleted contacts {}", parts.join(", "))
        }
    }
}

/// A column of the Restore page's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedSortKey {
    Name,
    Deleted,
    By,
    /// Days left, which follow when it was deleted.
    Left,
}

impl DeletedSortKey {
    pub const ALL: [DeletedSortKey; 4] = [DeletedSortKey::Name, DeletedSortKey::Deleted, DeletedSortKey::By, DeletedSortKey::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            DeletedSortKey::Name => "name",
            DeletedSortKey::Deleted => "deleted",
            DeletedSortKey::By => "by",
            DeletedSortKey::Left => "left",
        }
    }
}

/// The list's order: a column and a direction. Default: most recently deleted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedSort {
    pub key: DeletedSortKey,
    pub desc: bool,
}

impl Default for DeletedSort {
    fn default() -> Self {
        DeletedSort { key: DeletedSortKey::Deleted, desc: true }
    }
}

impl DeletedSort {
    pub fn parse(sort: Option<&str>, dir: Option<&str>) -> Result<Self, InvalidInput> {
        let key = match sort.map(str::trim).unwrap_or("") {
            "" => return Ok(DeletedSort::default()),
            s => DeletedSortKey::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
                InvalidInput(format!("\"{}\" is not a column to sort by; use name, deleted, by or left.", truncate_for_message(s)))
            })?,
        };
        let desc = match dir.map(str::trim).unwrap_or("") {
            "" => DeletedSort::natural_desc(key),
            "asc" => false,
            "desc" => true,
            other => return Err(InvalidInput(format!("\"{}\" is not a sort direction; use asc or desc.", truncate_for_message(other)))),
        };
        Ok(DeletedSort { key, desc })
    }

    /// The direction a column sorts in on its first click: newest deletion first, names
    /// and days left from the smallest.
    pub fn natural_desc(key: DeletedSortKey) -> bool {
        matches!(key, DeletedSortKey::Deleted)
    }

    /// Whether a sort by time runs by `deleted_at` descending. Days left grow with
    /// `deleted_at`: the fewest days left first is the oldest deletion first, so both
    /// columns sort by `deleted_at` in their own direction; they differ in their first
    /// click (newest deletion first, fewest days left first).
    pub fn deleted_at_desc(self) -> bool {
        self.desc
    }
}

/// The contacts a restore or an erase applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RestoreSelection {
    Ids { ids: Vec<ContactId> },
    /// Every deleted contact matching `filter` that was deleted at or before `as_of` (and
    /// still inside the window at `as_of`), except `exclude`.
    AllMatching { filter: DeletedFilter, as_of: DateTime<Utc>, exclude: Vec<ContactId> },
}

impl RestoreSelection {
    pub fn ids(mut ids: Vec<ContactId>) -> Result<Self, InvalidInput> {
        if ids.is_empty() {
            return Err(InvalidInput::new("Select at least one contact."));
        }
        if ids.len() > MAX_IDS_PER_REQUEST {
            return Err(InvalidInput::new("Too many contacts listed one by one; use \"Select all\" instead."));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(RestoreSelection::Ids { ids })
    }

    /// A filter selection never reaches past `now`: a later `as_of` becomes `now`.
    pub fn all_matching(filter: DeletedFilter, as_of: DateTime<Utc>, mut exclude: Vec<ContactId>, now: DateTime<Utc>) -> Result<Self, InvalidInput> {
        if exclude.len() > MAX_IDS_PER_REQUEST {
            return Err(InvalidInput::new("Too many excluded contacts."));
        }
        exclude.sort_unstable();
        exclude.dedup();
        Ok(RestoreSelection::AllMatching { filter, as_of: as_of.min(now), exclude })
    }

    /// Words for the audit log: ids, filters and counts, never names (R10).
    pub fn describe(&self) -> String {
        match self {
            RestoreSelection::Ids { ids } if ids.len() == 1 => format!("contact #{}", ids[0]),
            RestoreSelection::Ids { ids } => format!("{} selected contacts", thousands(ids.len() as i64)),
            RestoreSelection::AllMatching { filter, as_of, exclude } => {
                let mut s = format!("{} as of {}", filter.describe(), as_of.format("%Y-%m-%d %H:%M:%S UTC"));
                if !exclude.is_empty() {
                    s.push_str(&format!(", except {} unticked", thousands(exclude.len() as i64)));
                }
                s
            }
        }
    }
}

/// The one name a deletion goes by, on every page and in every message: "Deletion of
/// 20,000 contacts on Dec 3, 14:05 by Ana Admin", or for short "Deletion of Dec 3, 14:05
/// by Ana Admin".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionName {
    pub contacts: i64,
    pub at: DateTime<Utc>,
    /// The person, or "Workflow “Clean-up”".
    pub by: String,
    /// Whose clock the time is read on.
    pub zone: super::UserZone,
}

impl DeletionName {
    pub fn new(contacts: i64, at: DateTime<Utc>, by: impl Into<String>) -> Self {
        DeletionName { contacts, at, by: by.into(), zone: super::UserZone::UTC }
    }

    /// The same name, its time read in `zone` (the reader's).
    pub fn in_zone(mut self, zone: super::UserZone) -> Self {
        self.zone = zone;
        self
    }

    fn when(&self) -> String {
        self.zone.day_and_time(self.at)
    }

    pub fn long(&self) -> String {
        format!(
            "Deletion of {} on {} by {}",
            super::text::plural(self.contacts, "contact", "contacts"),
            self.when(),
            self.by
        )
    }

    pub fn short(&self) -> String {
        format!("Deletion of {} by {}", self.when(), self.by)
    }

    /// The long name with a lower-case first letter, to go inside a sentence.
    pub fn in_sentence(&self) -> String {
        let long = self.long();
        let mut c = long.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => long,
        }
    }
}

/// Who a deletion was by, in words: the person, or the workflow acting for them.
pub fn deleted_by_words(person: Option<&str>, workflow: Option<&str>) -> String {
    let person = person.unwrap_or("a removed user");
    match workflow {
        Some(w) => format!("Workflow “{w}” on behalf of {person}"),
        None => person.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_refuse_garbage() {
        let f = DeletedFilter::parse(Some(" Ana "), Some("7d"), Some("3"), Some(""), Some("12")).unwrap();
        assert_eq!(f.q.as_deref(), Some("ana"));
        assert_eq!(f.within, Some(DeletedWithin::Week));
        assert_eq!(f.by, Some(UserId(3)));
        assert_eq!(f.workflow, None);
        assert_eq!(f.batch, Some(BatchId(12)));
        assert!(DeletedFilter::parse(None, Some("yesterday"), None, None, None).is_err());
        assert!(DeletedFilter::parse(None, None, Some("x"), None, None).is_err());
        assert!(DeletedFilter::parse(None, None, None, Some("-1"), None).is_err());
        assert!(DeletedFilter::parse(None, Some("all"), None, None, None).unwrap().is_empty());
        assert!(!f.describe().contains("ana"), "{}", f.describe());
    }

    #[test]
    fn sorts_parse_with_their_natural_direction() {
        assert_eq!(DeletedSort::parse(None, None).unwrap(), DeletedSort::default());
        assert_eq!(DeletedSort::parse(Some("name"), None).unwrap(), DeletedSort { key: DeletedSortKey::Name, desc: false });
        assert_eq!(DeletedSort::parse(Some("deleted"), None).unwrap(), DeletedSort { key: DeletedSortKey::Deleted, desc: true });
        assert!(DeletedSort::parse(Some("email; drop"), None).is_err());
        assert!(DeletedSort::parse(Some("name"), Some("up")).is_err());
        // the fewest days left first is the oldest deletion first
        assert!(!DeletedSort::parse(Some("left"), Some("asc")).unwrap().deleted_at_desc());
    }

    #[test]
    fn a_selection_never_reaches_past_now() {
        let now = Utc::now();
        let s = RestoreSelection::all_matching(DeletedFilter::default(), now + Duration::hours(1), vec![ContactId(2), ContactId(2)], now).unwrap();
        assert_eq!(s, RestoreSelection::AllMatching { filter: DeletedFilter::default(), as_of: now, exclude: vec![ContactId(2)] });
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<RestoreSelection>(&json).unwrap(), s);
        assert!(RestoreSelection::ids(vec![]).is_err());
    }

    #[test]
    fn a_deletion_has_one_name() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T14:05:00Z").unwrap().with_timezone(&Utc);
        let n = DeletionName::new(20_000, at, "Ana Admin").in_zone(super::super::UserZone::parse("Europe/Paris").unwrap());
        assert_eq!(n.long(), "Deletion of 20,000 contacts on Dec 3, 15:05 by Ana Admin");
        assert_eq!(n.short(), "Deletion of Dec 3, 15:05 by Ana Admin");
        // a reader whose zone is not known yet reads UTC, and is told so
        assert_eq!(DeletionName::new(1, at, "Bo").long(), "Deletion of 1 contact on Dec 3, 14:05 UTC by Bo");
        assert!(n.in_sentence().starts_with("deletion of 20,000"));
    }
}
