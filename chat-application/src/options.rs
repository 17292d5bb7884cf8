//! Configuration of the application layer.

use std::time::Duration;

use chat_domain::message::MessageText;
use chat_domain::messaging::MessagingPolicy;

/// One rate limit: a sustained rate (one call every `period`) with bursts of up to `burst` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Time to earn back one call.
    pub period: Duration,
    /// Calls allowed at once after a quiet time (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` calls per second with bursts of `burst`.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        let per_second = per_second.max(1);
        Self { period: Duration::from_nanos(1_000_000_000 / u64::from(per_second)), burst: burst.max(1) }
    }

    /// One call every `period`, no bursts.
    pub fn every(period: Duration) -> Self {
        Self { period, burst: 1 }
    }
}

/// Per-user rate limits (SPEC §7 defaults: sends 5/s with bursts of 10, typing 1 per 3 s, other calls 20/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitOptions {
    /// Sending messages.
    pub send: RateLimit,
    /// Typing notifications (`isTyping: true`).
    pub typing: RateLimit,
    /// Every other call.
    pub other: RateLimit,
}

impl Default for RateLimitOptions {
    fn default() -> Self {
        Self {
            send: RateLimit::per_second(5, 10),
            typing: RateLimit::every(Duration::from_secs(3)),
            other: RateLimit::per_second(20, 20),
        }
    }
}

/// How long a tenant's settings are reused by default (see [`ChatOptions::tenant_settings_ttl`]).
pub const DEFAULT_TENANT_SETTINGS_TTL: Duration = Duration::from_secs(5);

/// Limits and defaults of the application layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatOptions {
    /// Longest message text, in characters after trimming (default 4,000).
    pub max_text_length: usize,
    /// Most members a group may have (default 1,000).
    pub max_group_members: usize,
    /// Most attachments one message may carry (default 10).
    pub max_attachments: usize,
    /// Per-user rate limits, used by [`GovernorRateLimiter`](crate::GovernorRateLimiter) when the module
    /// builds its default limiter.
    pub rate_limits: RateLimitOptions,
    /// How long the services reuse a tenant's settings before reading them again (default 5 s; zero reads
    /// them on every call). A change made through this module applies at once; other processes sharing
    /// the database see it within this time.
    pub tenant_settings_ttl: Duration,
}

impl Default for ChatOptions {
    fn default() -> Self {
        let policy = MessagingPolicy::default();
        Self {
            max_text_length: MessageText::DEFAULT_MAX,
            max_group_members: policy.max_group_members,
            max_attachments: policy.max_attachments,
            rate_limits: RateLimitOptions::default(),
            tenant_settings_ttl: DEFAULT_TENANT_SETTINGS_TTL,
        }
    }
}

impl ChatOptions {
    /// The domain's view of these limits.
    pub(crate) fn policy(&self) -> MessagingPolicy {
        MessagingPolicy { max_group_members: self.max_group_members, max_attachments: self.max_attachments }
    }
}
