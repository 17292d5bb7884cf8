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
//! - `{prefix}:presence:index`: a sorted set of the users who may be online (`{tenant}:{user}`), each
//!   scored with the latest expiry of their connections. A user leaves it when their last connection is
//!   closed, or when a sweep finds that all their connections expired.
//!
//! Opening and closing a connection are single Lua scripts, so each runs atomically on the server: of all
//! the nodes, exactly one sees the set go from empty to non-empty (and reports
//! [`PresenceChange::Online`]) and exactly one sees it go back to empty (and reports
//! [`PresenceChange::Offline`]).
//!
//! A node that dies closes nothing: its connections expire instead, and reads see its users offline
//! (their last-seen time is their last renewal). To announce that, every node runs
//! [`sweep_expired`](PresenceTracker::sweep_expired) every [`RedisPresenceOptions::refresh_interval`]: it
//! reads the index for users whose latest expiry has passed and, in one script per batch, removes those
//! whose connections are all gone from the index and reports them. Because the check and the removal are
//! atomic, each such transition is reported by exactly one sweep of one node, however many nodes sweep at
//! once; a user who connected again meanwhile is not reported.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chat_application::presence::{
    ConnectionId, ExpiredPresence, PresenceChange, PresenceError, PresenceStatus, PresenceTracker,
};
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

/// Raises `member`'s score in the index `idx` to `expiry` (never lowers it). Shared prelude.
const INDEX: &str = r"
local function index(idx, member, expiry)
  local current = tonumber(redis.call('ZSCORE', idx, member) or '-1') or -1
  if expiry > current then redis.call('ZADD', idx, ms(expiry), member) end
end
";

/// KEYS: conns, last_seen, index. ARGV: ttl ms, last-seen ttl s, connection, index member. Returns 1 when
/// the user came online.
const CONNECT: &str = r"
prune(KEYS[1], KEYS[2])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ms(now + ttl), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ms(ttl * 10))
index(KEYS[3], ARGV[4], now + ttl)
if before == 0 then return 1 end
return 0
";

/// KEYS: conns, last_seen, index. ARGV: ttl ms, last-seen ttl s, connection, closed at (ms since the
/// epoch), index member. Returns 1 when the user went offline. A set emptied only by expiry (the closed
/// connection was already gone) is left in the index for the sweep to report.
const DISCONNECT: &str = r"
local removed = redis.call('ZREM', KEYS[1], ARGV[3])
prune(KEYS[1], KEYS[2])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', seen_ttl)
  redis.call('ZREM', KEYS[3], ARGV[5])
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

/// KEYS: the index, then conns per user. ARGV: ttl ms, last-seen ttl s, then per user its index member, a
/// count, and that many connection ids. Renews the connections still present (an expired one is not
/// brought back; the sweep reports it).
const REFRESH: &str = r"
local a = 3
for i = 2, #KEYS do
  local member = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  for j = 1, n do
    redis.call('ZADD', KEYS[i], 'XX', ms(now + ttl), ARGV[a + 1 + j])
  end
  a = a + n + 2
  redis.call('PEXPIRE', KEYS[i], ms(ttl * 10))
  if redis.call('ZCARD', KEYS[i]) > 0 then index(KEYS[1], member, now + ttl) end
end
return 0
";

/// KEYS: the index. ARGV: ttl ms, last-seen ttl s, most members. The index members whose latest expiry
/// has passed: candidates for [`SWEEP`].
const EXPIRED: &str = r"
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms(now), 'LIMIT', 0, tonumber(ARGV[3]))
";

/// KEYS: the index, then conns and last_seen per candidate. ARGV: ttl ms, last-seen ttl s, then the
/// candidates' index members. For each candidate still in the index with a passed expiry: prunes its
/// connections; if none is left, removes it from the index and returns its last-seen time (recording the
/// last renewal if nothing recorded one), else re-scores it. Returns one value per candidate: the
/// last-seen time (ms since the epoch) of a user this call took offline, or -1.
const SWEEP: &str = r"
local out = {}
for i = 1, #ARGV - 2 do
  local member = ARGV[i + 2]
  local conns, seen = KEYS[2 * i], KEYS[2 * i + 1]
  local score = tonumber(redis.call('ZSCORE', KEYS[1], member) or '-1') or -1
  local result = -1
  if score >= 0 and score <= now then
    prune(conns, seen)
    local live = redis.call('ZRANGE', conns, -1, -1, 'WITHSCORES')
    if #live == 0 then
      redis.call('ZREM', KEYS[1], member)
      result = tonumber(redis.call('GET', seen) or '-1') or -1
      if result < 0 then
        result = score - ttl
        redis.call('SET', seen, ms(result), 'EX', seen_ttl)
      end
    else
      redis.call('ZADD', KEYS[1], live[2], member)
    end
  end
  table.insert(out, result)
end
return out
";

/// Most users one sweep script call examines; a sweep runs calls until a batch comes back short.
const SWEEP_BATCH: usize = 500;
/// Most batches one sweep runs (the next sweep carries on).
const SWEEP_MAX_BATCHES: usize = 20;

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
    expired: Script,
    sweep: Script,
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
    Script::new(&format!("{PRELUDE}{INDEX}{body}"))
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
            expired: script(EXPIRED),
            sweep: script(SWEEP),
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

    fn index_key(&self) -> String {
        format!("{}:presence:index", self.options.prefix)
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
        let users: Vec<(String, String, Vec<ConnectionId>)> = self
            .local()
            .iter()
            .map(|(&(tenant, user), connections)| {
                (self.key(tenant, user), member(tenant, user), connections.iter().cloned().collect())
            })
            .collect();
        let (ttl, seen_ttl) = self.ttl_args();
        let index = self.index_key();
        for batch in users.chunks(REFRESH_BATCH) {
            let mut invocation = self.refresh.prepare_invoke();
            invocation.key(&index).arg(ttl).arg(seen_ttl);
            for (key, member, connections) in batch {
                invocation.key(key).arg(member).arg(connections.len());
                for connection in connections {
                    invocation.arg(connection.as_str());
                }
            }
            self.invoke::<i64>(&invocation).await?;
        }
        Ok(())
    }

    /// One sweep batch: the expired candidates, then the atomic check-and-remove; returns the users it
    /// took offline and whether the batch was full.
    async fn sweep_batch(&self) -> Result<(Vec<ExpiredPresence>, bool), PresenceError> {
        let (ttl, seen_ttl) = self.ttl_args();
        let index = self.index_key();
        let mut invocation = self.expired.prepare_invoke();
        invocation.key(&index).arg(ttl).arg(seen_ttl).arg(SWEEP_BATCH);
        let candidates: Vec<String> = self.invoke(&invocation).await?;
        if candidates.is_empty() {
            return Ok((Vec::new(), false));
        }
        let mut parsed = Vec::with_capacity(candidates.len());
        let mut invocation = self.sweep.prepare_invoke();
        invocation.key(&index).arg(ttl).arg(seen_ttl);
        for candidate in &candidates {
            let Some((tenant, user)) = parse_member(candidate) else {
                tracing::warn!(member = %candidate, "ignoring a malformed presence index entry");
                continue;
            };
            let (conns, seen) = self.keys(tenant, user);
            invocation.key(conns).key(seen).arg(candidate);
            parsed.push((tenant, user));
        }
        if parsed.is_empty() {
            return Ok((Vec::new(), false));
        }
        let answer: Vec<i64> = self.invoke(&invocation).await?;
        if answer.len() != parsed.len() {
            return Err(PresenceError::new(format!(
                "unexpected sweep answer from Redis: {} values for {} users",
                answer.len(),
                parsed.len()
            )));
        }
        let expired = parsed
            .into_iter()
            .zip(answer)
            .filter(|(_, seen)| *seen >= 0)
            .map(|((tenant, user), seen)| ExpiredPresence {
                tenant,
                user,
                last_seen_at: from_millis(seen).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            })
            .collect();
        Ok((expired, candidates.len() >= SWEEP_BATCH))
    }
}

/// A user's entry in the index.
fn member(tenant: TenantId, user: UserId) -> String {
    format!("{tenant}:{user}")
}

fn parse_member(member: &str) -> Option<(TenantId, UserId)> {
    let (tenant, user) = member.split_once(':')?;
    Some((tenant.parse().ok()?, user.parse().ok()?))
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
        invocation
            .key(&conns)
            .key(&seen)
            .key(inner.index_key())
            .arg(ttl)
            .arg(seen_ttl)
            .arg(connection.as_str())
            .arg(member(tenant, user));
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
        invocation
            .key(&conns)
            .key(&seen)
            .key(inner.index_key())
            .arg(ttl)
            .arg(seen_ttl)
            .arg(connection.as_str())
            .arg(at.timestamp_millis())
            .arg(member(tenant, user));
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

    async fn sweep_expired(&self) -> Result<Vec<ExpiredPresence>, PresenceError> {
        let mut expired = Vec::new();
        for _ in 0..SWEEP_MAX_BATCHES {
            let (mut batch, full) = self.inner.sweep_batch().await?;
            expired.append(&mut batch);
            if !full {
                break;
            }
        }
        Ok(expired)
    }

    fn sweep_interval(&self) -> Option<Duration> {
        Some(self.inner.options.refresh_interval)
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

    /// Sweeps on every tracker at once, until `done` holds for everything reported so far (or panics
    /// after a deadline); returns every report.
    async fn sweep_until(
        nodes: &[&RedisPresenceTracker],
        done: impl Fn(&[ExpiredPresence]) -> bool,
    ) -> Vec<ExpiredPresence> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut reported = Vec::new();
        loop {
            let rounds = futures_util::future::join_all(nodes.iter().map(|n| n.sweep_expired())).await;
            for round in rounds {
                reported.extend(round.unwrap_or_else(|e| panic!("sweep failed: {e}")));
            }
            if done(&reported) {
                return reported;
            }
            assert!(tokio::time::Instant::now() < deadline, "not reported in time: {reported:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_dead_nodes_users_are_swept_offline_exactly_once_across_sweeping_nodes() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("chat-test-{}", Uuid::new_v4().simple());
        let open = || RedisPresenceTracker::open(&url, options(&prefix)).unwrap_or_else(|e| panic!("{e}"));
        let (dead, b, c) = (open(), open(), open());
        assert_eq!(b.sweep_interval(), Some(Duration::from_millis(100)));
        let t = TenantId::HOST;
        let (two_sockets, read_first, elsewhere_too, closed, survivor) = (user(), user(), user(), user(), user());
        for (u, id) in [(two_sockets, "d1"), (two_sockets, "d2"), (read_first, "d3"), (elsewhere_too, "d4")] {
            assert!(dead.connect(t, u, &ConnectionId::new(id), at(1)).await.is_ok());
        }
        assert!(dead.connect(t, closed, &ConnectionId::new("d5"), at(1)).await.is_ok());
        assert!(matches!(
            dead.disconnect(t, closed, &ConnectionId::new("d5"), at(2)).await,
            Ok(PresenceChange::Offline { .. })
        ));
        assert!(b.connect(t, elsewhere_too, &ConnectionId::new("b1"), at(1)).await.is_ok());
        assert!(b.connect(t, survivor, &ConnectionId::new("b2"), at(1)).await.is_ok());
        assert_eq!(b.sweep_expired().await.ok(), Some(Vec::new()), "nothing expired while every node renews");

        // The node dies: its renewals stop and it closes nothing.
        let died = Utc::now();
        drop(dead);
        // A read that notices the expiry first does not swallow the transition.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while status(&b, t, read_first).await.online {
            assert!(tokio::time::Instant::now() < deadline, "the dead node's connection never expired");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let reported =
            sweep_until(&[&b, &c], |r| [two_sockets, read_first].iter().all(|u| r.iter().any(|e| e.user == *u))).await;
        for u in [two_sockets, read_first] {
            assert_eq!(reported.iter().filter(|e| e.user == u).count(), 1, "exactly one report: {reported:?}");
        }
        assert_eq!(
            reported.len(),
            2,
            "users still online elsewhere, or closed normally, are not reported: {reported:?}"
        );
        for e in &reported {
            assert_eq!(e.tenant, t);
            assert!(e.last_seen_at > died - chrono::Duration::seconds(2) && e.last_seen_at <= Utc::now(), "{e:?}");
            assert_eq!(
                status(&c, t, e.user).await,
                PresenceStatus { user: e.user, online: false, last_seen_at: Some(e.last_seen_at) }
            );
        }
        // Later sweeps, well past the other users' TTL, report nothing more: the survivors are renewed.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(b.sweep_expired().await.ok(), Some(Vec::new()));
        assert_eq!(c.sweep_expired().await.ok(), Some(Vec::new()));
        assert!(status(&c, t, elsewhere_too).await.online);
        assert!(status(&c, t, survivor).await.online);
        // A user reported offline who comes back is online again, and closes normally.
        assert_eq!(b.connect(t, two_sockets, &ConnectionId::new("b3"), at(9)).await.ok(), Some(PresenceChange::Online));
        assert!(matches!(
            b.disconnect(t, two_sockets, &ConnectionId::new("b3"), at(10)).await,
            Ok(PresenceChange::Offline { .. })
        ));
        assert_eq!(b.sweep_expired().await.ok(), Some(Vec::new()));
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
