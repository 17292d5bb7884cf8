//! Validated text values shared by several aggregates.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Checks that `value`, trimmed, has 1 to `max` characters and no NUL, and returns the trimmed text.
pub fn bounded(value: &str, field: &'static str, max: usize) -> Result<String, DomainError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    // NUL cannot be stored as text (PostgreSQL refuses it), so it is refused here, like in message texts.
    if chars == 0 || chars > max || trimmed.contains('\0') {
        return Err(DomainError::InvalidText { field, max });
    }
    Ok(trimmed.to_owned())
}

/// Checks an optional text: `None` or empty stays `None`, otherwise at most `max` characters and no NUL.
pub fn optional_bounded(value: Option<&str>, field: &'static str, max: usize) -> Result<Option<String>, DomainError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded(v, field, max).map(Some),
    }
}

/// A person's display names, as the host application knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    user_name: String,
    name: Option<String>,
    surname: Option<String>,
}

impl PersonName {
    /// The longest user name, name or surname accepted.
    pub const MAX: usize = 256;

    /// Validates a user name (required) and optional name and surname.
    pub fn parse(user_name: &str, name: Option<&str>, surname: Option<&str>) -> Result<Self, DomainError> {
        Ok(Self {
            user_name: bounded(user_name, "userName", Self::MAX)?,
            name: optional_bounded(name, "name", Self::MAX)?,
            surname: optional_bounded(surname, "surname", Self::MAX)?,
        })
    }

    /// The login name.
    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    /// The given name, if known.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The family name, if known.
    pub fn surname(&self) -> Option<&str> {
        self.surname.as_deref()
    }

    /// What to show: "name surname" when known, else the user name.
    pub fn display(&self) -> String {
        match (&self.name, &self.surname) {
            (Some(n), Some(s)) => format!("{n} {s}"),
            (Some(n), None) => n.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => self.user_name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_user_name_is_rejected() {
        assert!(PersonName::parse("   ", None, None).is_err());
    }

    #[test]
    fn nul_bytes_are_rejected() {
        assert!(bounded("a\0b", "name", 10).is_err());
        assert!(optional_bounded(Some("\0"), "description", 10).is_err());
    }

    #[test]
    fn display_prefers_full_name() {
        let n = PersonName::parse("alice", Some("Alice"), Some("Liddell")).ok();
        assert_eq!(n.map(|n| n.display()), Some("Alice Liddell".to_owned()));
    }
}
