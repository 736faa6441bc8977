//! R5: a deletion needs the confirmation text `DELETE`, exactly.

use super::InvalidInput;

/// Proof that the admin typed `DELETE`. Only [`DeleteConfirmation::parse`] makes one,
/// so a deleting handler cannot forget the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteConfirmation(());

impl DeleteConfirmation {
    pub const TEXT: &'static str = "DELETE";

    pub fn parse(typed: &str) -> Result<Self, InvalidInput> {
        if typed == Self::TEXT {
            Ok(DeleteConfirmation(()))
        } else {
            Err(InvalidInput::new(
                "Type DELETE (in capital letters, nothing else) to confirm the deletion.",
            ))
        }
    }
}

/// Deleting every contact of an account asks for more than DELETE: the number of
/// contacts, typed (digits, with or without thousands separators). The number is the
/// one the admin was shown: the contacts left now, plus at most `deleted_since` that
/// someone else deleted after the admin looked (a select-all keeps to what was there
/// when the list was read, so nothing newer is ever part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountConfirmation(());

impl CountConfirmation {
    pub fn parse(typed: Option<&str>, count: i64, deleted_since: i64, account: &str) -> Result<Self, InvalidInput> {
        let digits: String = typed.unwrap_or("").chars().filter(|c| !matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}' | '\'' | '_')).collect();
        let typed = digits.parse::<i64>().ok().filter(|_| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
        let matches = typed.is_some_and(|n| n >= count && n <= count + deleted_since.max(0));
        if matches {
            Ok(CountConfirmation(()))
        } else {
            Err(InvalidInput::new(format!(
                "This deletes every contact in {account}: type the number of contacts, {}, to confirm.",
                super::thousands(count)
            )))
        }
    }
}

/// Why contacts are deleted, as the admin typed it (kept in the audit log): plain text
/// of at most [`DeleteReason::MAX_CHARS`] characters, blank meaning none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteReason(String);

impl DeleteReason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(typed: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        let Some(r) = typed.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
        if r.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new("The reason is too long (500 characters at most)."));
        }
        if r.chars().any(char::is_control) {
            return Err(InvalidInput::new("The reason holds control characters; type plain text."));
        }
        Ok(Some(DeleteReason(r.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reason_is_plain_text_of_500_characters_at_most() {
        assert_eq!(DeleteReason::parse(None).unwrap(), None);
        assert_eq!(DeleteReason::parse(Some("  ")).unwrap(), None);
        assert_eq!(DeleteReason::parse(Some(" GDPR request ")).unwrap().unwrap().as_str(), "GDPR request");
        assert!(DeleteReason::parse(Some(&"é".repeat(500))).unwrap().is_some());
        assert!(DeleteReason::parse(Some(&"é".repeat(501))).is_err());
        assert!(DeleteReason::parse(Some("line\nbreak")).is_err());
    }

    use super::*;

    #[test]
    fn deleting_everything_needs_the_exact_count() {
        for ok in ["20000", "20,000", "20 000", "20.000", " 20000 "] {
            assert!(CountConfirmation::parse(Some(ok), 20_000, 0, "Big").is_ok(), "{ok:?}");
        }
        for bad in [None, Some(""), Some("19999"), Some("20001"), Some("2e4"), Some("-20000"), Some("20000 contacts"), Some("DELETE")] {
            let e = CountConfirmation::parse(bad, 20_000, 0, "Big").unwrap_err();
            assert_eq!(e.0, "This deletes every contact in Big: type the number of contacts, 20,000, to confirm.", "{bad:?}");
        }
    }

    #[test]
    fn the_count_shown_still_confirms_after_others_deleted_some() {
        // 20,000 shown; 300 deleted by someone else since: 19,700 left
        for ok in ["20000", "19700", "19,950"] {
            assert!(CountConfirmation::parse(Some(ok), 19_700, 300, "Big").is_ok(), "{ok:?}");
        }
        for bad in ["19699", "20001", "0"] {
            assert!(CountConfirmation::parse(Some(bad), 19_700, 300, "Big").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_exact_text_confirms() {
        assert!(DeleteConfirmation::parse("DELETE").is_ok());
        for bad in ["delete", "Delete", "DELETE ", " DELETE", "", "DELETED", "DEL ETE"] {
            assert!(DeleteConfirmation::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
