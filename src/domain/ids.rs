//! Identifier newtypes, so an account id can never be passed where a contact id belongs.

use super::InvalidInput;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// Parses an id as sent by a form or a URL: a positive decimal integer.
            pub fn parse(s: &str) -> Result<Self, InvalidInput> {
                match s.trim().parse::<i64>() {
                    Ok(n) if n > 0 => Ok($name(n)),
                    _ => Err(InvalidInput(format!(
                        concat!("\"{}\" is not a valid ", $what, " id."),
                        truncate_for_message(s)
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(AccountId, "account");
id_type!(UserId, "user");
id_type!(ContactId, "contact");
id_type!(BatchId, "batch");
id_type!(WorkflowId, "workflow");
id_type!(JobId, "job");

/// Keeps error messages short when someone sends a megabyte as an id.
pub(crate) fn truncate_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_positive_integers_only() {
        assert_eq!(ContactId::parse("42").unwrap(), ContactId(42));
        assert_eq!(ContactId::parse(" 7 ").unwrap(), ContactId(7));
        for bad in ["", "0", "-1", "abc", "1.5", "99999999999999999999"] {
            assert!(ContactId::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn long_input_is_truncated_in_the_message() {
        let err = ContactId::parse(&"x".repeat(1000)).unwrap_err();
        assert!(err.0.len() < 100);
    }
}
