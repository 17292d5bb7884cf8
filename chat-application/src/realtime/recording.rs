use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chat_domain::UserId;
use tokio::sync::Notify;

use super::sender::{RealTimeChatMessageSender, RealtimeEvent, SenderError};
use crate::dto::EventEnvelopeDto;

/// A sender that records every event it is given, for tests: inspect what was sent, to whom, and wait for
/// an event with a timeout instead of sleeping.
#[derive(Debug, Default)]
pub struct RecordingChatMessageSender {
    events: Mutex<Vec<RealtimeEvent>>,
    notify: Notify,
    failing: AtomicBool,
}

impl RecordingChatMessageSender {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RealtimeEvent>> {
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes every following delivery fail (without recording), to test that failures are harmless.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Everything delivered so far, in order.
    pub fn events(&self) -> Vec<RealtimeEvent> {
        self.lock().clone()
    }

    /// Everything delivered so far, and forgets it.
    pub fn take(&self) -> Vec<RealtimeEvent> {
        std::mem::take(&mut *self.lock())
    }

    /// Forgets everything delivered so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The names of the events delivered so far, in order.
    pub fn names(&self) -> Vec<String> {
        self.lock().iter().map(|e| e.name.to_string()).collect()
    }

    /// The events with a given name.
    pub fn named(&self, name: &str) -> Vec<RealtimeEvent> {
        self.lock().iter().filter(|e| e.name == name).cloned().collect()
    }

    /// The envelopes one user received, in order.
    pub fn envelopes_for(&self, user: UserId) -> Vec<EventEnvelopeDto> {
        self.lock().iter().filter_map(|e| e.envelope_for(user)).collect()
    }

    /// Waits until an event matching `pred` has been delivered (or was already), at most `timeout`.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&RealtimeEvent) -> bool) -> Option<RealtimeEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if let Some(found) = self.lock().iter().find(|e| pred(e)).cloned() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

#[async_trait]
impl RealTimeChatMessageSender for RecordingChatMessageSender {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(SenderError::new("recording sender set to fail"));
        }
        self.lock().extend_from_slice(events);
        self.notify.notify_waiters();
        Ok(())
    }
}
