use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Message text: 1 to `max` characters after trimming, no NUL characters. It is kept byte for byte as the
/// sender wrote it (plain text, never interpreted as markup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageText(String);

impl MessageText {
    /// The default maximum length, in characters.
    pub const DEFAULT_MAX: usize = 4000;

    /// Validates `raw` against a maximum length in characters (after trimming).
    pub fn parse(raw: &str, max: usize) -> Result<Self, DomainError> {
        if raw.contains('\0') {
            return Err(DomainError::InvalidText { field: "text", max });
        }
        let chars = raw.trim().chars().count();
        if chars == 0 {
            return Err(DomainError::EmptyMessage);
        }
        if chars > max {
            return Err(DomainError::MessageTooLong { max });
        }
        Ok(Self(raw.to_owned()))
    }

    /// Rehydrates stored text without re-checking the (possibly since changed) maximum.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's idempotency key for a send: 1 to 64 visible ASCII characters. A repeated key from the same
/// sender returns the first message instead of storing a second.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    /// The longest key accepted.
    pub const MAX: usize = 64;

    /// Validates a key.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = !raw.is_empty() && raw.len() <= Self::MAX && raw.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(DomainError::InvalidText { field: "clientMessageId", max: Self::MAX });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_rejected() {
        assert_eq!(MessageText::parse("  \n ", 10), Err(DomainError::EmptyMessage));
    }

    #[test]
    fn oversized_text_is_rejected() {
        let long = "x".repeat(11);
        assert_eq!(MessageText::parse(&long, 10), Err(DomainError::MessageTooLong { max: 10 }));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(MessageText::parse(&"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn text_is_kept_byte_for_byte() {
        let raw = "  <script>alert(1)</script> ";
        assert_eq!(MessageText::parse(raw, 100).map(|t| t.as_str().to_owned()), Ok(raw.to_owned()));
    }

    #[test]
    fn nul_is_rejected() {
        assert!(MessageText::parse("a\0b", 10).is_err());
    }

    #[test]
    fn client_message_id_must_be_visible_ascii() {
        assert!(ClientMessageId::parse("abc-123").is_ok());
        assert!(ClientMessageId::parse("").is_err());
        assert!(ClientMessageId::parse("a b").is_err());
        assert!(ClientMessageId::parse(&"a".repeat(65)).is_err());
    }
}
