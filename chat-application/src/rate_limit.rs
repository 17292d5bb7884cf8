//! Per-user rate limits, an application concern so that every transport (REST, sockets, embedding code)
//! enforces the same limits.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chat_domain::{TenantId, UserId};
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};

use crate::error::AppError;
use crate::options::{RateLimit, RateLimitOptions};

/// Which budget a call draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimitKind {
    /// Sending a message.
    Send,
    /// A typing notification.
    Typing,
    /// Any other call.
    Other,
}

/// Decides whether a user may make one more call of a kind now. Implementations must be cheap: it is
/// called before every use case.
pub trait RateLimiter: Send + Sync {
    /// `Ok` takes one call from the user's budget; `Err` says how long to wait (and takes nothing).
    fn check(&self, tenant: TenantId, user: UserId, kind: RateLimitKind) -> Result<(), Duration>;
}

impl dyn RateLimiter {
    /// [`check`](RateLimiter::check) as an [`AppError::RateLimited`].
    pub(crate) fn admit(&self, tenant: TenantId, user: UserId, kind: RateLimitKind) -> Result<(), AppError> {
        self.check(tenant, user, kind).map_err(|retry_after| AppError::RateLimited { retry_after })
    }
}

/// A limiter that admits everything (for trusted embedding code and benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnlimitedRateLimiter;

impl RateLimiter for UnlimitedRateLimiter {
    fn check(&self, _tenant: TenantId, _user: UserId, _kind: RateLimitKind) -> Result<(), Duration> {
        Ok(())
    }
}

type Keyed = Governor<(TenantId, UserId), DefaultKeyedStateStore<(TenantId, UserId)>, DefaultClock>;

/// An in-process limiter: one GCRA bucket per (tenant, user) and kind. Limits are per process; in a
/// cluster each node enforces them separately.
pub struct GovernorRateLimiter {
    send: Keyed,
    typing: Keyed,
    other: Keyed,
    checks: AtomicU64,
}

impl std::fmt::Debug for GovernorRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GovernorRateLimiter").finish_non_exhaustive()
    }
}

/// How many checks between two sweeps of idle users' buckets, so the maps do not grow forever.
const SWEEP_EVERY: u64 = 16_384;

fn quota(limit: RateLimit) -> Quota {
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    let period = limit.period.max(Duration::from_nanos(1));
    Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
}

impl GovernorRateLimiter {
    /// A limiter with the given limits.
    pub fn new(limits: RateLimitOptions) -> Self {
        Self {
            send: Governor::keyed(quota(limits.send)),
            typing: Governor::keyed(quota(limits.typing)),
            other: Governor::keyed(quota(limits.other)),
            checks: AtomicU64::new(0),
        }
    }

    /// Forgets users whose buckets are full again (they would be admitted as if new).
    pub fn retain_recent(&self) {
        for limiter in [&self.send, &self.typing, &self.other] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl Default for GovernorRateLimiter {
    fn default() -> Self {
        Self::new(RateLimitOptions::default())
    }
}

impl RateLimiter for GovernorRateLimiter {
    fn check(&self, tenant: TenantId, user: UserId, kind: RateLimitKind) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.retain_recent();
        }
        let limiter = match kind {
            RateLimitKind::Send => &self.send,
            RateLimitKind::Typing => &self.typing,
            RateLimitKind::Other => &self.other,
        };
        limiter.check_key(&(tenant, user)).map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    #[test]
    fn sends_allow_a_burst_of_ten_then_refuse() {
        let limiter = GovernorRateLimiter::default();
        let u = user();
        for _ in 0..10 {
            assert!(limiter.check(TenantId::HOST, u, RateLimitKind::Send).is_ok());
        }
        let wait = limiter.check(TenantId::HOST, u, RateLimitKind::Send);
        assert!(matches!(wait, Err(d) if d > Duration::ZERO && d <= Duration::from_millis(200)));
    }

    #[test]
    fn users_and_kinds_have_separate_budgets() {
        let limiter = GovernorRateLimiter::default();
        let (a, b) = (user(), user());
        assert!(limiter.check(TenantId::HOST, a, RateLimitKind::Typing).is_ok());
        assert!(limiter.check(TenantId::HOST, a, RateLimitKind::Typing).is_err());
        assert!(limiter.check(TenantId::HOST, b, RateLimitKind::Typing).is_ok());
        assert!(limiter.check(TenantId::HOST, a, RateLimitKind::Other).is_ok());
    }

    #[test]
    fn unlimited_admits_everything() {
        let u = user();
        assert!((0..1000).all(|_| UnlimitedRateLimiter.check(TenantId::HOST, u, RateLimitKind::Send).is_ok()));
    }
}
