//! Exponential backoff with jitter, for reconnecting to a broker.

use std::time::Duration;

/// Delays between reconnection attempts: doubling from `initial` up to `max`, each with up to a quarter of
/// random jitter so that the nodes of a cluster do not all reconnect in the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff starting at `initial` and never waiting longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Self { initial, max, next: initial }
    }

    /// The delay before the next attempt (and doubles the one after).
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter_range = u64::try_from(base.as_millis() / 4).unwrap_or(u64::MAX);
        let jitter = if jitter_range == 0 { 0 } else { u64::from(uuid::Uuid::new_v4().as_fields().0) % jitter_range };
        base + Duration::from_millis(jitter)
    }

    /// Starts again from `initial` (after a successful connection).
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let delays: Vec<u128> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        for (delay, base) in delays.iter().zip([100u128, 200, 400, 800, 800, 800]) {
            assert!((base..base + base / 4 + 1).contains(delay), "{delays:?}");
        }
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(126));
    }
}
