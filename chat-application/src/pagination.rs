//! Page sizes and opaque cursors.
//!
//! Cursors are strings clients pass back unchanged: history uses the boundary message `seq`, the
//! conversation list the activity time and id, member lists the last user id, search an offset. A
//! malformed cursor is a validation error on the field that carried it. `limit` must be 1 to 100 (default
//! 50); other values are refused rather than clamped, so a client bug is visible.

use chat_domain::{ConversationId, Seq, UserId};
use chrono::{DateTime, Utc};

use crate::dto::PageDto;
use crate::error::AppError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// A validated page size: `limit` (default 50) must be 1 to 100.
pub fn page_limit(limit: Option<u32>) -> Result<usize, AppError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n as usize),
        _ => Err(AppError::validation("limit", format!("limit must be 1 to {MAX_LIMIT}"))),
    }
}

fn malformed(field: &str) -> AppError {
    AppError::validation(field, "malformed cursor")
}

/// Decodes a history cursor (a message `seq`); anything else is a validation error on `field`.
pub fn parse_seq(field: &str, raw: &str) -> Result<Seq, AppError> {
    raw.trim().parse::<i64>().ok().filter(|v| *v >= 0).map(Seq::new).ok_or_else(|| malformed(field))
}

/// A conversation-list cursor: `<activity micros>_<conversation id>`.
pub(crate) fn activity_cursor(at: DateTime<Utc>, id: ConversationId) -> String {
    format!("{}_{}", at.timestamp_micros(), id)
}

/// Decodes a conversation-list cursor (see [`activity_cursor`]); anything else is a validation error on
/// `field`.
pub fn parse_activity(field: &str, raw: &str) -> Result<(DateTime<Utc>, ConversationId), AppError> {
    let (micros, id) = raw.split_once('_').ok_or_else(|| malformed(field))?;
    let micros = micros.parse::<i64>().map_err(|_| malformed(field))?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| malformed(field))?;
    let id = id.parse::<ConversationId>().map_err(|_| malformed(field))?;
    Ok((at, id))
}

/// Decodes a member-list cursor (the last user id); anything else is a validation error on `field`.
pub fn parse_user(field: &str, raw: &str) -> Result<UserId, AppError> {
    raw.trim().parse::<UserId>().map_err(|_| malformed(field))
}

/// Decodes a search cursor (how many results to skip); anything else is a validation error on `field`.
pub fn parse_offset(field: &str, raw: &str) -> Result<usize, AppError> {
    raw.trim().parse::<usize>().map_err(|_| malformed(field))
}

/// Builds a page from `limit + 1` fetched items: the extra one only says that more follow.
pub(crate) fn page<T, U>(
    mut fetched: Vec<T>,
    limit: usize,
    cursor_of: impl Fn(&T) -> String,
    map: impl FnMut(T) -> U,
) -> PageDto<U> {
    let has_more = fetched.len() > limit;
    fetched.truncate(limit);
    let next_cursor = if has_more { fetched.last().map(&cursor_of) } else { None };
    PageDto { items: fetched.into_iter().map(map).collect(), has_more, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_to_fifty_and_refuses_out_of_range() {
        assert_eq!(page_limit(None).ok(), Some(50));
        assert_eq!(page_limit(Some(100)).ok(), Some(100));
        assert_eq!(page_limit(Some(0)).map_err(|e| e.code()), Err("chat.validation"));
        assert_eq!(page_limit(Some(101)).map_err(|e| e.field_errors()[0].field.clone()), Err("limit".into()));
    }

    #[test]
    fn activity_cursor_round_trips() {
        let at = DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default();
        let id = ConversationId::new_at(at);
        let cursor = activity_cursor(at, id);
        assert_eq!(parse_activity("cursor", &cursor).ok(), Some((at, id)));
    }

    #[test]
    fn malformed_cursors_are_validation_errors_on_their_field() {
        for bad in ["", "x", "1_", "_1", "1_notauuid"] {
            let e = parse_activity("cursor", bad).err();
            assert_eq!(e.map(|e| e.field_errors()[0].field.clone()), Some("cursor".into()), "{bad}");
        }
        assert!(parse_seq("before", "-1").is_err());
        assert!(parse_seq("before", "abc").is_err());
        assert!(parse_user("cursor", "nope").is_err());
        assert!(parse_offset("cursor", "-3").is_err());
    }
}
