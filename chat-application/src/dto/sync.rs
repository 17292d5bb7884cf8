use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PresenceDto;
use crate::CallerContext;

/// What a client receives when its event stream opens (Socket.IO `ready`, the first event of a gRPC
/// `Subscribe` stream): who it is, where its stored stream stands, and which contacts are online. One type
/// for both transports, so they cannot drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyDto {
    /// The connected user.
    pub user_id: Uuid,
    /// Their tenant.
    pub tenant_id: Uuid,
    /// The user's latest stored position; live events after `ready` are newer.
    pub event_seq: i64,
    /// The contacts online now (a later `presence` event supersedes an entry).
    pub presence: Vec<PresenceDto>,
}

impl ReadyDto {
    /// `ready` for `caller` at `event_seq`, with the contacts online now.
    pub fn new(caller: &CallerContext, event_seq: i64, presence: Vec<PresenceDto>) -> Self {
        Self { user_id: caller.user.as_uuid(), tenant_id: caller.tenant.as_uuid(), event_seq, presence }
    }
}

/// One server event as clients receive it: `{ eventSeq, type, data }`, emitted under `type`.
/// Ephemeral events (`typing`, `presence`) are not stored and have no `eventSeq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelopeDto {
    /// Position in the recipient's event stream; absent for ephemeral events.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_seq: Option<i64>,
    /// The event's name (`message.created`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's data (see the event list).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// Catch up after a position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncInput {
    /// The last `eventSeq` the client saw (0 for none).
    #[serde(default)]
    pub after_event_seq: i64,
    /// Most events returned, 1 to 100 (default 50; more are announced by `hasMore`).
    pub limit: Option<u32>,
}

/// The events after a position, or `resyncRequired` when the position is no longer kept (the client must
/// reload its state over REST, then continue from `eventSeq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncResultDto {
    /// Events in stream order (empty when `resyncRequired`).
    pub events: Vec<EventEnvelopeDto>,
    /// Whether more events follow the last one returned.
    pub has_more: bool,
    /// The position is older than what is kept (or unknown): reload and continue from `eventSeq`.
    pub resync_required: bool,
    /// The caller's latest position.
    pub event_seq: i64,
}

/// A user's current position in their event stream (the socket `ready` event's `eventSeq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventPositionDto {
    /// The latest `eventSeq`.
    pub event_seq: i64,
}
