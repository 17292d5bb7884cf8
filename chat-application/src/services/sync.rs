//! Catch-up: each user's stored event stream, read after a position.

use std::sync::Arc;

use chat_domain::EventSeq;
use chat_domain::MessageId;
use chat_domain::event::DomainEvent;

use crate::caller::CallerContext;
use crate::core::Core;
use crate::dto::{EventPositionDto, SyncInput, SyncResultDto};
use crate::error::AppError;
use crate::pagination::page_limit;
use crate::rate_limit::RateLimitKind;
use crate::realtime::envelope_with;

/// Reads the caller's own event stream, so a client that reconnects misses nothing: `sync` after the last
/// `eventSeq` it saw, or `resyncRequired` when that position is no longer kept. Streams are per user, so
/// a position says nothing about anyone else.
#[derive(Clone)]
pub struct SyncAppService {
    core: Arc<Core>,
}

impl std::fmt::Debug for SyncAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncAppService").finish_non_exhaustive()
    }
}

impl SyncAppService {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// The caller's events after `afterEventSeq`, in order, as the envelopes live delivery sends
    /// (message payloads carry current reactions). `resyncRequired` when events after that position were
    /// pruned (the position is before the pruned point) or the position is ahead of the stream.
    pub async fn sync(&self, caller: &CallerContext, input: SyncInput) -> Result<SyncResultDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        if input.after_event_seq < 0 {
            return Err(AppError::validation("afterEventSeq", "must not be negative"));
        }
        let after = EventSeq::new(input.after_event_seq);
        let events = &self.core.repos.events;
        let window = events.window(caller.tenant, caller.user).await?;
        if after < window.pruned_through || after > window.latest {
            return Ok(SyncResultDto {
                events: Vec::new(),
                has_more: false,
                resync_required: true,
                event_seq: window.latest.value(),
            });
        }
        let mut stored = events.after(caller.tenant, caller.user, after, limit + 1).await?;
        let has_more = stored.len() > limit;
        stored.truncate(limit);
        let message_ids: Vec<MessageId> = stored
            .iter()
            .filter_map(|e| match e.event.as_ref() {
                DomainEvent::MessageCreated { message } | DomainEvent::MessageUpdated { message } => Some(message.id),
                _ => None,
            })
            .collect();
        let reactions = if message_ids.is_empty() {
            Vec::new()
        } else {
            self.core.repos.messages.reactions(caller.tenant, &message_ids).await?
        };
        Ok(SyncResultDto {
            events: stored.iter().map(|e| envelope_with(e, &reactions)).collect(),
            has_more,
            resync_required: false,
            event_seq: window.latest.value(),
        })
    }

    /// The caller's latest position (the socket `ready` event's `eventSeq`). Not rate-limited: hosts call
    /// it on every connection.
    pub async fn get_position(&self, caller: &CallerContext) -> Result<EventPositionDto, AppError> {
        let window = self.core.repos.events.window(caller.tenant, caller.user).await?;
        Ok(EventPositionDto { event_seq: window.latest.value() })
    }
}
