//! API keys: the key an integration sends as `Authorization: Bearer ca_…`, its name,
//! and the hash stored in its place (the key itself is shown once and never kept).

use super::InvalidInput;
use sha2::{Digest, Sha256};

/// What every key starts with, so a leaked one is easy to recognise (and to scan for).
pub const KEY_PREFIX: &str = "ca_";
/// Hex digits after the prefix: 256 random bits.
const KEY_HEX: usize = 64;
/// The characters of a key shown on the API keys page to tell keys apart.
const SHOWN: usize = 11;

/// A key as sent by a client: `ca_` and 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.prefix())
    }
}

impl ApiKeySecret {
    /// A new random key.
    pub fn generate(random_hex: String) -> Self {
        ApiKeySecret(format!("{KEY_PREFIX}{random_hex}"))
    }

    /// The key of an `Authorization` header's value (`Bearer ca_…`), if it has the form
    /// of one. Anything else is no key at all.
    pub fn from_bearer(header: &str) -> Option<Self> {
        let (scheme, token) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        Self::parse(token.trim())
    }

    pub fn parse(token: &str) -> Option<Self> {
        let hex = token.strip_prefix(KEY_PREFIX)?;
        (hex.len() == KEY_HEX && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| ApiKeySecret(token.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the key as hex: what is stored and looked up. A key carries 256
    /// random bits, so a fast hash is enough (a password hash guards guessable secrets).
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The start of the key, shown on the page: `ca_1a2b3c4d`.
    pub fn prefix(&self) -> &str {
        &self.0[..SHOWN.min(self.0.len())]
    }
}

/// An API key's name: what the audit log says it was used as ("via API key “Zapier”").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let s = s.trim();
        if s.is_empty() {
            return Err(InvalidInput::new("Give the key a name, such as the integration that will use it."));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(format!("A key's name can be at most {} characters.", Self::MAX_CHARS)));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidInput::new("A key's name cannot contain control characters."));
        }
        Ok(ApiKeyName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the key's own user, shown wherever a person's name would be.
    pub fn user_name(&self) -> String {
        format!("API key “{}”", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKeySecret {
        ApiKeySecret::generate("0123456789abcdef".repeat(4))
    }

    #[test]
    fn bearer_headers_are_read_strictly() {
        let k = key();
        assert_eq!(ApiKeySecret::from_bearer(&format!("Bearer {}", k.as_str())), Some(k.clone()));
        assert_eq!(ApiKeySecret::from_bearer(&format!("bearer {}", k.as_str())), Some(k.clone()));
        assert_eq!(ApiKeySecret::from_bearer(&format!("Basic {}", k.as_str())), None);
        assert_eq!(ApiKeySecret::from_bearer(k.as_str()), None);
        assert_eq!(ApiKeySecret::from_bearer("Bearer ca_0123"), None);
        assert_eq!(ApiKeySecret::from_bearer(&format!("Bearer {}", k.as_str().to_uppercase())), None);
        assert_eq!(ApiKeySecret::from_bearer(&format!("Bearer {}0", k.as_str())), None);
    }

    #[test]
    fn the_hash_is_sha256_and_the_debug_form_hides_the_key() {
        let k = key();
        assert_eq!(k.hash().len(), 64);
        assert_ne!(k.hash(), key().as_str()[3..]);
        assert_eq!(k.prefix(), "ca_01234567");
        assert!(!format!("{k:?}").contains(&k.as_str()[12..]));
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(ApiKeyName::parse("  Zapier ").unwrap().as_str(), "Zapier");
        assert_eq!(ApiKeyName::parse("Zapier").unwrap().user_name(), "API key “Zapier”");
        assert!(ApiKeyName::parse("   ").is_err());
        assert!(ApiKeyName::parse(&"x".repeat(81)).is_err());
        assert!(ApiKeyName::parse("a\u{7}b").is_err());
    }
}
