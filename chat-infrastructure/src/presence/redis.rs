//! The Redis [`PresenceTracker`]: one sorted set of live connections per user, shared by every node.
//!
//! Keys (under the bus prefix, so that clusters sharing one Redis keep apart):
//!
//! - `{prefix}:presence:{tenant}:{user}`: a sorted set whose members are the user's connection ids and
//!   whose scores are the instants (Redis server time, in milliseconds) at which each connection expires
//!   unless its node renews it. Every node renews its own live connections every
//!   [`RedisPresenceOptions::refresh_interval`]; the connections of a node that died stop being renewed and
//!   age out after [`RedisPresenceOptions::connection_ttl`]. Expired members are removed whenever the set
//!   is touched, and the key itself expires ten connection TTLs after its last write as a backstop (a
//!   user whose key expired that way reads as never seen).
//! - `{prefix}:presence:{tenant}:{user}:last_seen`: when the user's last connection closed (milliseconds
//!   since the epoch), kept for [`RedisPresenceOptions::last_seen_ttl`].
//!
//! Opening and closing a connection are single Lua scripts, so each runs atomically on the server: of all
//! the nodes, exactly one sees the set go from empty to non-empty (and reports
//! [`PresenceChange::Online`]) and exactly one sees it go back to empty (and reports
//! [`PresenceChange::Offline`]). A user whose connections expired (their node died) is offline without an
//! `Offline` report; their last-seen time is then the last renewal, and their next connection reports
//! `Online` again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chat_application::presence::{ConnectionId, PresenceChange, PresenceError, PresenceStatus, PresenceTracker};
use chat_domain::{TenantId, UserId};
use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Script};

use crate::bus::DEFAULT_CHANNEL_PREFIX;

/// How a [`RedisPresenceTracker`] names its keys and how long connections live without renewal.
#[derive(Debug, Clone)]
pub struct RedisPresenceOptions {
    /// Every key is named `{prefix}:presence:…` (the bus prefix, in cluster mode).
    pub prefix: String,
    /// How long a connection counts as live after it was opened or last renewed. A dead node's
    /// connections are offline at most this long after its last renewal.
    pub connection_ttl: Duration,
    /// How often this node renews its live connections; well under `connection_ttl`.
    pub refresh_interval: Duration,
    /// How long a user's last-seen time is kept after their last connection closed.
    pub last_seen_ttl: Duration,
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
    /// How long one command (or script) may take.
    pub operation_timeout: Duration,
}

impl Default for RedisPresenceOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_CHANNEL_PREFIX.to_owned(),
            connection_ttl: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(10),
            last_seen_ttl: Duration::from_secs(90 * 24 * 3600),
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(2),
        }
    }
}

/// Removes the expired members of the set `KEYS[i]`; if that empties it, records the last renewal of
/// the newest one as the last-seen time in `KEYS[i+1]` (unless a later one is there). Shared prelude.
const PRELUDE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local seen_ttl = tonumber(ARGV[2])
local function ms(x) return string.format('%.0f', x) end
local function prune(conns, seen)
  local stale = redis.call('ZRANGEBYSCORE', conns, '-inf', ms(now), 'WITHSCORES')
  if #stale == 0 then return end
  redis.call('ZREMRANGEBYSCORE', conns, '-inf', ms(now))
  if redis.call('ZCARD', conns) == 0 then
    local last = tonumber(stale[#stale]) - ttl
    local previous = tonumber(redis.call('GET', seen) or '0') or 0
    if last > previous then redis.call('SET', seen, ms(last), 'EX', seen_ttl) end
  end
end
";

/// KEYS: conns, last_seen. ARGV: ttl ms, last-seen ttl s, connection. Returns 1 when the user came online.
const CONNECT: &str = r"
prune(KEYS[1], KEYS[2])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ms(now + ttl), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ms(ttl * 10))
if before == 0 then return 1 end
return 0
";

/// KEYS: conns, last_seen. ARGV: ttl ms, last-seen ttl s, connection, closed at (ms since the epoch).
/// Returns 1 when the user went offline.
const DISCONNECT: &str = r"
local removed = redis.call('ZREM', KEYS[1], ARGV[3])
prune(KEYS[1], KEYS[2])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', seen_ttl)
  return 1
end
return 0
";

/// KEYS: conns, last_seen per user. ARGV: ttl ms, last-seen ttl s. Returns `{online, last_seen or -1}`
/// per user.
const STATUSES: &str = r"
local out = {}
for i = 1, #KEYS, 2 do
  prune(KEYS[i], KEYS[i + 1])
  local online = redis.call('ZCARD', KEYS[i]) > 0
  local seen = tonumber(redis.call('GET', KEYS[i + 1]) or '-1') or -1
  table.insert(out, online and 1 or 0)
  table.insert(out, seen)
end
return out
";

/// KEYS: conns per user. ARGV: ttl ms, last-seen ttl s, then per key a count followed by that many
/// connection ids. Renews the connections still present (an expired one is not brought back).
const REFRESH: &str = r"
local a = 3
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  for j = 1, n do
    redis.call('ZADD', KEYS[i], 'XX', ms(now + ttl), ARGV[a + j])
  end
  a = a + n + 1
  redis.call('PEXPIRE', KEYS[i], ms(ttl * 10))
end
return 0
";

/// Users renewed per refresh script call.
const REFRESH_BATCH: usize = 500;

/// A [`PresenceTracker`] shared by the nodes of a cluster through Redis (see the module docs for the
/// keys). Each tracker renews the connections opened through it, in a background task that stops when
/// the tracker is dropped.
pub struct RedisPresenceTracker {
    inner: Arc<Inner>,
    refresh: tokio::task::JoinHandle<()>,
}

struct Inner {
    client: Client,
    options: RedisPresenceOptions,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    // The connections opened through this node and not closed yet: the ones it renews.
    local: Mutex<HashMap<(TenantId, UserId), HashSet<ConnectionId>>>,
    connect: Script,
    disconnect: Script,
    statuses: Script,
    refresh: Script,
}

impl std::fmt::Debug for RedisPresenceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresenceTracker").field("prefix", &self.inner.options.prefix).finish_non_exhaustive()
    }
}

impl Drop for RedisPresenceTracker {
    fn drop(&mut self) {
        self.refresh.abort();
    }
}

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl RedisPresenceTracker {
    /// A tracker on the Redis server `url` names (`redis://[user:password@]host[:port][/db]`). Nothing is
    /// connected yet (the first call connects); the renewal task starts now, so this must be called from
    /// within a Tokio runtime.
    pub fn open(url: &str, options: RedisPresenceOptions) -> Result<Self, PresenceError> {
        let client = Client::open(url).map_err(PresenceError::new)?;
        let inner = Arc::new(Inner {
            client,
            options,
            connection: tokio::sync::Mutex::new(None),
            local: Mutex::new(HashMap::new()),
            connect: script(CONNECT),
            disconnect: script(DISCONNECT),
            statuses: script(STATUSES),
            refresh: script(REFRESH),
        });
        let refresh = tokio::spawn(refresh_loop(Arc::downgrade(&inner)));
        Ok(Self { inner, refresh })
    }

    /// Renews every connection opened through this tracker now (the background task does it every
    /// [`RedisPresenceOptions::refresh_interval`]).
    pub async fn refresh(&self) -> Result<(), PresenceError> {
        self.inner.refresh_all().await
    }
}

async fn refresh_loop(inner: Weak<Inner>) {
    let Some(interval) = inner.upgrade().map(|i| i.options.refresh_interval) else { return };
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        if let Err(error) = inner.refresh_all().await {
            tracing::warn!(%error, "could not renew this node's connections for presence");
        }
    }
}

impl Inner {
    fn key(&self, tenant: TenantId, user: UserId) -> String {
        format!("{}:presence:{tenant}:{user}", self.options.prefix)
    }

    fn keys(&self, tenant: TenantId, user: UserId) -> (String, String) {
        let conns = self.key(tenant, user);
        let seen = format!("{conns}:last_seen");
        (conns, seen)
    }

    fn ttl_args(&self) -> (i64, u64) {
        (millis(self.options.connection_ttl), self.options.last_seen_ttl.as_secs().max(1))
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, UserId), HashSet<ConnectionId>>> {
        // Every critical section leaves the map consistent, so a poisoned lock is still usable.
        self.local.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn connection(&self) -> Result<MultiplexedConnection, PresenceError> {
        let mut current = self.connection.lock().await;
        if let Some(connection) = &*current {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(self.options.operation_timeout));
        let connection =
            self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(PresenceError::new)?;
        *current = Some(connection.clone());
        Ok(connection)
    }

    /// Runs a script invocation, forgetting the connection when it fails so that the next call reconnects.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, PresenceError> {
        let mut connection = self.connection().await?;
        let result = tokio::time::timeout(self.options.operation_timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| PresenceError::new("the Redis server did not answer in time"))
            .and_then(|r| r.map_err(PresenceError::new));
        if result.is_err() {
            *self.connection.lock().await = None;
        }
        result
    }

    async fn refresh_all(&self) -> Result<(), PresenceError> {
        let users: Vec<(String, Vec<ConnectionId>)> = self
            .local()
            .iter()
            .map(|(&(tenant, user), connections)| (self.key(tenant, user), connections.iter().cloned().collect()))
            .collect();
        let (ttl, seen_ttl) = self.ttl_args();
        for batch in users.chunks(REFRESH_BATCH) {
            let mut invocation = self.refresh.prepare_invoke();
            invocation.arg(ttl).arg(seen_ttl);
            for (key, connections) in batch {
                invocation.key(key).arg(connections.len());
                for connection in connections {
                    invocation.arg(connection.as_str());
                }
            }
            self.invoke::<i64>(&invocation).await?;
        }
        Ok(())
    }
}

fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    (ms >= 0).then(|| DateTime::<Utc>::from_timestamp_millis(ms)).flatten()
}

#[async_trait]
impl PresenceTracker for RedisPresenceTracker {
    async fn connect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        _at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError> {
        let inner = &self.inner;
        let (conns, seen) = inner.keys(tenant, user);
        let (ttl, seen_ttl) = inner.ttl_args();
        let mut invocation = inner.connect.prepare_invoke();
        invocation.key(&conns).key(&seen).arg(ttl).arg(seen_ttl).arg(connection.as_str());
        let came_online: i64 = inner.invoke(&invocation).await?;
        inner.local().entry((tenant, user)).or_default().insert(connection.clone());
        Ok(if came_online == 1 { PresenceChange::Online } else { PresenceChange::Unchanged })
    }

    async fn disconnect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError> {
        let inner = &self.inner;
        {
            let mut local = inner.local();
            if let Some(connections) = local.get_mut(&(tenant, user)) {
                connections.remove(connection);
                if connections.is_empty() {
                    local.remove(&(tenant, user));
                }
            }
        }
        let (conns, seen) = inner.keys(tenant, user);
        let (ttl, seen_ttl) = inner.ttl_args();
        let mut invocation = inner.disconnect.prepare_invoke();
        invocation.key(&conns).key(&seen).arg(ttl).arg(seen_ttl).arg(connection.as_str()).arg(at.timestamp_millis());
        let went_offline: i64 = inner.invoke(&invocation).await?;
        Ok(if went_offline == 1 { PresenceChange::Offline { last_seen_at: at } } else { PresenceChange::Unchanged })
    }

    async fn statuses(&self, tenant: TenantId, users: &[UserId]) -> Result<Vec<PresenceStatus>, PresenceError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let inner = &self.inner;
        let (ttl, seen_ttl) = inner.ttl_args();
        let mut invocation = inner.statuses.prepare_invoke();
        invocation.arg(ttl).arg(seen_ttl);
        for &user in users {
            let (conns, seen) = inner.keys(tenant, user);
            invocation.key(conns).key(seen);
        }
        let answer: Vec<i64> = inner.invoke(&invocation).await?;
        if answer.len() != users.len() * 2 {
            return Err(PresenceError::new(format!(
                "unexpected presence answer from Redis: {} values for {} users",
                answer.len(),
                users.len()
            )));
        }
        Ok(users
            .iter()
            .zip(answer.chunks_exact(2))
            .map(|(&user, pair)| {
                let online = pair[0] == 1;
                let last_seen_at = if online { None } else { from_millis(pair[1]) };
                PresenceStatus { user, online, last_seen_at }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// The Redis server of `CHAT_TEST_REDIS_URL`, or `None` (the test prints why it is skipped).
    fn redis_url() -> Option<String> {
        let url = std::env::var("CHAT_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
        if url.is_none() {
            println!("skipped: set CHAT_TEST_REDIS_URL=redis://127.0.0.1:6379 to run the Redis presence tests");
        }
        url
    }

    /// Options with a key prefix of the test's own and short lifetimes.
    fn options(prefix: &str) -> RedisPresenceOptions {
        RedisPresenceOptions {
            prefix: prefix.to_owned(),
            connection_ttl: Duration::from_millis(600),
            refresh_interval: Duration::from_millis(100),
            ..RedisPresenceOptions::default()
        }
    }

    /// Two trackers (two nodes) on one Redis under a fresh prefix.
    fn two_nodes(url: &str) -> (RedisPresenceTracker, RedisPresenceTracker) {
        let prefix = format!("chat-test-{}", Uuid::new_v4().simple());
        match (RedisPresenceTracker::open(url, options(&prefix)), RedisPresenceTracker::open(url, options(&prefix))) {
            (Ok(a), Ok(b)) => (a, b),
            _ => panic!("bad Redis URL"),
        }
    }

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(seconds)
    }

    async fn status(tracker: &RedisPresenceTracker, tenant: TenantId, user: UserId) -> PresenceStatus {
        match tracker.statuses(tenant, &[user]).await {
            Ok(statuses) if statuses.len() == 1 => statuses[0],
            other => panic!("statuses failed: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_user_on_two_nodes_comes_online_and_goes_offline_exactly_once() {
        let Some(url) = redis_url() else { return };
        let (a, b) = two_nodes(&url);
        let (t, u) = (TenantId::HOST, user());
        let (on_a, on_b) = (ConnectionId::new("socket-a"), ConnectionId::new("socket-b"));

        assert_eq!(a.connect(t, u, &on_a, at(1)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(b.connect(t, u, &on_b, at(2)).await.ok(), Some(PresenceChange::Unchanged));
        assert!(status(&a, t, u).await.online);
        assert!(status(&b, t, u).await.online);
        assert_eq!(a.disconnect(t, u, &on_a, at(3)).await.ok(), Some(PresenceChange::Unchanged));
        assert!(status(&a, t, u).await.online, "still connected on node B");
        assert_eq!(b.disconnect(t, u, &on_b, at(4)).await.ok(), Some(PresenceChange::Offline { last_seen_at: at(4) }));
        assert_eq!(status(&a, t, u).await, PresenceStatus { user: u, online: false, last_seen_at: Some(at(4)) });

        // Closing again, or closing a connection never opened, changes nothing.
        assert_eq!(b.disconnect(t, u, &on_b, at(5)).await.ok(), Some(PresenceChange::Unchanged));
        assert_eq!(a.disconnect(t, u, &ConnectionId::new("never"), at(5)).await.ok(), Some(PresenceChange::Unchanged));
        // Opening the same connection twice counts it once.
        assert_eq!(a.connect(t, u, &on_a, at(6)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(a.connect(t, u, &on_a, at(6)).await.ok(), Some(PresenceChange::Unchanged));
        assert!(matches!(a.disconnect(t, u, &on_a, at(7)).await, Ok(PresenceChange::Offline { .. })));
    }

    #[tokio::test]
    async fn concurrent_first_connections_report_online_once() {
        let Some(url) = redis_url() else { return };
        let (a, b) = two_nodes(&url);
        let (t, u) = (TenantId::HOST, user());
        let connections: Vec<ConnectionId> = (0..20).map(|i| ConnectionId::new(format!("c{i}"))).collect();
        let opened = futures_util::future::join_all(
            connections.iter().enumerate().map(|(i, c)| if i % 2 == 0 { &a } else { &b }.connect(t, u, c, at(1))),
        )
        .await;
        let online = opened.iter().filter(|r| matches!(r, Ok(PresenceChange::Online))).count();
        assert_eq!(online, 1, "{opened:?}");
        let closed = futures_util::future::join_all(
            connections.iter().enumerate().map(|(i, c)| if i % 2 == 0 { &b } else { &a }.disconnect(t, u, c, at(2))),
        )
        .await;
        let offline = closed.iter().filter(|r| matches!(r, Ok(PresenceChange::Offline { .. }))).count();
        assert_eq!(offline, 1, "{closed:?}");
    }

    #[tokio::test]
    async fn tenants_and_users_are_tracked_apart() {
        let Some(url) = redis_url() else { return };
        let (a, _b) = two_nodes(&url);
        let (u, other_user) = (user(), user());
        let other_tenant = TenantId::from_uuid(Uuid::new_v4());
        let c = ConnectionId::new("c");
        assert_eq!(a.connect(TenantId::HOST, u, &c, at(1)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(status(&a, other_tenant, u).await, PresenceStatus { user: u, online: false, last_seen_at: None });
        let statuses = a.statuses(TenantId::HOST, &[other_user, u]).await.ok();
        assert_eq!(
            statuses,
            Some(vec![
                PresenceStatus { user: other_user, online: false, last_seen_at: None },
                PresenceStatus { user: u, online: true, last_seen_at: None },
            ])
        );
        assert_eq!(a.statuses(TenantId::HOST, &[]).await.ok(), Some(Vec::new()));
    }

    #[tokio::test]
    async fn live_connections_are_renewed_and_a_dead_nodes_connections_expire() {
        let Some(url) = redis_url() else { return };
        let (a, b) = two_nodes(&url);
        let t = TenantId::HOST;
        let (on_a, on_b) = (user(), user());
        assert_eq!(a.connect(t, on_a, &ConnectionId::new("a1"), at(1)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(b.connect(t, on_b, &ConnectionId::new("b1"), at(1)).await.ok(), Some(PresenceChange::Online));

        // Well past the connection TTL, both nodes' renewals keep their users online.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(status(&b, t, on_a).await.online, "node A renews its connection");
        assert!(status(&a, t, on_b).await.online, "node B renews its connection");

        // Node A dies: its renewals stop, and its user ages out on node B's reads.
        let died = Utc::now();
        drop(a);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let gone = status(&b, t, on_a).await;
        assert!(!gone.online, "a dead node's connections expire");
        let last_seen = gone.last_seen_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        assert!(
            last_seen > died - chrono::Duration::seconds(2) && last_seen <= Utc::now(),
            "the last renewal is the last-seen time: {last_seen} (died {died})"
        );
        assert!(status(&b, t, on_b).await.online, "node B's own user is unaffected");

        // The user's next connection brings them online again, and the stale one is not counted.
        assert_eq!(b.connect(t, on_a, &ConnectionId::new("b2"), at(9)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(
            b.disconnect(t, on_a, &ConnectionId::new("b2"), at(10)).await.ok(),
            Some(PresenceChange::Offline { last_seen_at: at(10) })
        );
    }

    #[tokio::test]
    async fn keys_live_under_the_prefix_and_expire() {
        let Some(url) = redis_url() else { return };
        let (a, _b) = two_nodes(&url);
        let (t, u) = (TenantId::HOST, user());
        assert!(a.connect(t, u, &ConnectionId::new("c"), at(1)).await.is_ok());
        let key = a.inner.key(t, u);
        assert_eq!(key, format!("{}:presence:{t}:{u}", a.inner.options.prefix));
        let Ok(mut connection) = a.inner.connection().await else { panic!("connect") };
        let ttl: Result<i64, _> = redis::cmd("PTTL").arg(&key).query_async(&mut connection).await;
        let ttl = ttl.unwrap_or_default();
        assert!(ttl > 1200 && ttl <= 6000, "the key has a backstop TTL: {ttl}");
    }
}
