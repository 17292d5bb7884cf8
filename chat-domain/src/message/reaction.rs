use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::error::DomainError;
use crate::ids::{MessageId, TenantId, UserId};

/// A reaction value: one emoji (a single grapheme cluster that is not a letter, digit, space or control) or a
/// short `:name:` of ASCII letters, digits, `_`, `+` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Emoji(String);

impl Emoji {
    /// The longest `:name:` accepted, colons included.
    pub const MAX_NAME: usize = 32;
    /// The longest single grapheme accepted, in bytes (family and flag sequences are long).
    pub const MAX_GRAPHEME_BYTES: usize = 64;

    /// Validates a reaction value.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if Self::is_short_name(raw) || Self::is_single_emoji(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::InvalidEmoji)
        }
    }

    fn is_short_name(raw: &str) -> bool {
        raw.len() >= 3
            && raw.len() <= Self::MAX_NAME
            && raw.starts_with(':')
            && raw.ends_with(':')
            && raw[1..raw.len() - 1].bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
    }

    fn is_single_emoji(raw: &str) -> bool {
        if raw.is_empty() || raw.len() > Self::MAX_GRAPHEME_BYTES || raw.graphemes(true).count() != 1 {
            return false;
        }
        raw.chars()
            .next()
            .is_some_and(|c| !(c.is_alphanumeric() || c.is_whitespace() || c.is_control() || c.is_ascii_punctuation()))
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One user's reaction to one message with one emoji. At most one exists per (message, user, emoji).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// Tenant.
    pub tenant: TenantId,
    /// The message reacted to.
    pub message: MessageId,
    /// Who reacted.
    pub user: UserId,
    /// With what.
    pub emoji: Emoji,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_emoji_is_accepted() {
        for ok in ["👍", "❤️", "👨‍👩‍👧", "🇫🇷", ":thumbs_up:", ":+1:"] {
            assert!(Emoji::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn words_and_several_emoji_are_rejected() {
        for bad in
            ["", "a", "ab", "👍👍", " ", "::", ":a b:", "<b>", "\u{0}", ":aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:"]
        {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
    }
}
