//! A contact's checked fields: email addresses and tag names.

use super::ids::truncate_for_message;
use super::InvalidInput;
use serde::{Deserialize, Serialize};

/// A lower-cased email address with one `@` and a dot in its domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let s = s.trim();
        let bad = || InvalidInput(format!("\"{}\" is not a valid email address.", truncate_for_message(s)));
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.contains('@') || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Email(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: 1 to 50 characters, no control characters, surrounding space trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TagName(String);

impl TagName {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let t = s.trim();
        if t.is_empty() {
            return Err(InvalidInput::new("A tag needs a name."));
        }
        if t.chars().count() > 50 || t.chars().any(char::is_control) {
            return Err(InvalidInput(format!(
                "\"{}\" is not a valid tag: up to 50 characters, no control characters.",
                truncate_for_message(t)
            )));
        }
        Ok(TagName(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The most tags one contact can carry: enough for any real use, and a page of a
/// contact stays small.
/// What may still be handed over before a contact is deleted (U7): an opportunity that
/// is still open, an appointment scheduled and still ahead, an enrollment still running.
/// The deletion impact's SQL counts the same states.
pub fn opportunity_is_open(status: &str) -> bool {
    status == "open"
}

pub fn appointment_is_upcoming(status: &str, starts_at_ms: i64, now_ms: i64) -> bool {
    status == "scheduled" && starts_at_ms >= now_ms
}

pub fn enrollment_is_active(status: &str) -> bool {
    status == "active"
}

pub const MAX_TAGS_PER_CONTACT: usize = 100;

/// The fields of a contact to create.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<TagName>,
}

impl NewContact {
    /// Builds a contact from form or CSV fields; a name or an email is required.
    pub fn parse(
        first_name: &str,
        last_name: &str,
        email: &str,
        phone: &str,
        company: &str,
    ) -> Result<Self, InvalidInput> {
        let field = |s: &str, what: &str, max: usize| -> Result<Option<String>, InvalidInput> {
            let s = s.trim();
            if s.chars().count() > max || s.chars().any(char::is_control) {
                return Err(InvalidInput(format!("The {what} is too long or holds control characters.")));
            }
            Ok((!s.is_empty()).then(|| s.to_string()))
        };
        let first_name = field(first_name, "first name", 100)?.unwrap_or_default();
        let last_name = field(last_name, "last name", 100)?.unwrap_or_default();
        let email = match email.trim() {
            "" => None,
            e => Some(Email::parse(e)?),
        };
        let phone = field(phone, "phone", 40)?;
        let company = field(company, "company", 200)?;
        if first_name.is_empty() && last_name.is_empty() && email.is_none() {
            return Err(InvalidInput::new("A contact needs a name or an email address."));
        }
        Ok(NewContact { first_name, last_name, email, phone, company, tags: Vec::new() })
    }
}

/// The name a list shows for a contact: first and last name, else the email.
pub fn display_name(first: &str, last: &str, email: Option<&str>) -> String {
    let name = format!("{first} {last}").trim().to_string();
    if name.is_empty() {
        email.unwrap_or("(no name)").to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_can_still_be_handed_over_before_a_deletion() {
        assert!(opportunity_is_open("open") && !opportunity_is_open("won") && !opportunity_is_open("lost"));
        assert!(appointment_is_upcoming("scheduled", 2_000, 1_000));
        assert!(appointment_is_upcoming("scheduled", 1_000, 1_000), "starting now is still upcoming");
        assert!(!appointment_is_upcoming("scheduled", 999, 1_000), "already started");
        assert!(!appointment_is_upcoming("cancelled", 2_000, 1_000));
        assert!(enrollment_is_active("active") && !enrollment_is_active("stopped"));
    }

    #[test]
    fn email_is_checked_and_lowercased() {
        assert_eq!(Email::parse(" Jane@Example.COM ").unwrap().as_str(), "jane@example.com");
        for bad in ["", "jane", "jane@", "@x.com", "a@b", "a b@c.com", "a@@b.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_trimmed_and_bounded() {
        assert_eq!(TagName::parse("  Unsubscribed ").unwrap().as_str(), "Unsubscribed");
        assert!(TagName::parse("   ").is_err());
        assert!(TagName::parse(&"x".repeat(51)).is_err());
        assert!(TagName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn a_contact_needs_a_name_or_an_email() {
        assert!(NewContact::parse("", "", "", "555", "Acme").is_err());
        assert!(NewContact::parse("Jane", "", "", "", "").is_ok());
        assert!(NewContact::parse("", "", "j@x.io", "", "").is_ok());
        assert!(NewContact::parse("Jane", "", "not-an-email", "", "").is_err());
    }
}
