//! Admission control for the writer: refuse a write at once, with a time to retry after, when the
//! group-commit queue has been too slow for a while, rather than queue it behind work that already waits
//! too long.
//!
//! Without it, load above the write path's capacity makes the queue, and every sender's wait, grow for as
//! long as the overload lasts; every accepted write is answered late, and clients' own timeouts turn into
//! retries that add more load. With it, the writes that are accepted keep a bounded wait, and the others
//! are told to come back (`chat.overloaded`, 503 with `Retry-After`): nothing was written, so retrying with
//! the same `clientMessageId` is safe.
//!
//! The signal is the queueing delay of the freshest unit of each batch the writer takes (the units of a
//! batch queued in order, so the last one waited least): if even that one waited longer than the limit, the
//! queue holds more than the limit's worth of work. A short burst that the writer absorbs never trips it;
//! and once the queue is empty again, writes are admitted whatever the last delay was.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chat_domain::RepositoryError;

/// The shortest and longest wait a refused writer is told to observe.
const RETRY_AFTER_MIN: Duration = Duration::from_millis(100);
const RETRY_AFTER_MAX: Duration = Duration::from_secs(10);

/// The writer's latest queueing delay and the limit it is held to, shared by the store (which admits or
/// refuses) and the writer (which measures).
#[derive(Debug)]
pub(crate) struct Admission {
    /// `None`: every write is queued, however long the queue.
    limit: Option<Duration>,
    /// Queueing delay of the freshest unit of the latest batch, in microseconds.
    latest_delay_us: AtomicU64,
    /// Writes refused so far.
    refused: AtomicU64,
}

impl Admission {
    /// Admission held to `limit` of queueing delay; `None` admits everything.
    pub(crate) fn new(limit: Option<Duration>) -> Self {
        Self { limit: limit.filter(|l| !l.is_zero()), latest_delay_us: AtomicU64::new(0), refused: AtomicU64::new(0) }
    }

    /// Records how long the freshest unit of the batch just taken had waited in the queue.
    pub(crate) fn record(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.latest_delay_us.store(us, Ordering::Relaxed);
    }

    /// Admits a write while `queued` units wait, or refuses it with the time to retry after.
    pub(crate) fn admit(&self, queued: usize) -> Result<(), RepositoryError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let delay = self.latest_delay();
        if queued == 0 || delay <= limit {
            return Ok(());
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        Err(RepositoryError::Overloaded { retry_after: delay.clamp(RETRY_AFTER_MIN, RETRY_AFTER_MAX) })
    }

    /// How long the freshest unit of the latest batch waited in the queue.
    pub(crate) fn latest_delay(&self) -> Duration {
        Duration::from_micros(self.latest_delay_us.load(Ordering::Relaxed))
    }

    /// Writes refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_for(result: Result<(), RepositoryError>) -> Option<Duration> {
        match result {
            Ok(()) => None,
            Err(RepositoryError::Overloaded { retry_after }) => Some(retry_after),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn a_queue_within_the_limit_admits() {
        let admission = Admission::new(Some(Duration::from_millis(500)));
        assert_eq!(refused_for(admission.admit(100)), None);
        admission.record(Duration::from_millis(500));
        assert_eq!(refused_for(admission.admit(100)), None, "at the limit is within it");
    }

    #[test]
    fn a_slow_queue_refuses_with_its_delay_as_the_time_to_retry_after() {
        let admission = Admission::new(Some(Duration::from_millis(500)));
        admission.record(Duration::from_millis(1_200));
        assert_eq!(refused_for(admission.admit(1)), Some(Duration::from_millis(1_200)));
        admission.record(Duration::from_secs(60));
        assert_eq!(refused_for(admission.admit(1)), Some(RETRY_AFTER_MAX), "the time to retry after is capped");
        assert_eq!(admission.refused(), 2);
        assert_eq!(admission.latest_delay(), Duration::from_secs(60));
    }

    /// Refusals stop the queue from growing, so the delay measured last may never be measured again:
    /// an empty queue admits whatever it was.
    #[test]
    fn an_empty_queue_admits_whatever_the_last_delay() {
        let admission = Admission::new(Some(Duration::from_millis(500)));
        admission.record(Duration::from_secs(3));
        assert_eq!(refused_for(admission.admit(0)), None);
    }

    #[test]
    fn without_a_limit_everything_is_admitted() {
        for limit in [None, Some(Duration::ZERO)] {
            let admission = Admission::new(limit);
            admission.record(Duration::from_secs(3));
            assert_eq!(refused_for(admission.admit(10_000)), None);
        }
    }
}
