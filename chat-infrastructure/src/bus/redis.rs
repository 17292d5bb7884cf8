//! The Redis pub/sub bus: `PUBLISH` on one multiplexed connection, one dedicated connection per
//! subscription, both re-established with backoff after the broker goes away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Backoff, BusError, BusSubscription, DEFAULT_CHANNEL_PREFIX, DistributedEventBus};

/// How a [`RedisEventBus`] names its channels and handles a broker that goes away.
#[derive(Debug, Clone)]
pub struct RedisBusOptions {
    /// Every channel is named `{prefix}:{channel}`.
    pub prefix: String,
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
    /// How long one `PUBLISH` (or readiness `PING`) may take.
    pub operation_timeout: Duration,
    /// First delay before reconnecting; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest delay between reconnection attempts.
    pub max_backoff: Duration,
    /// How often an idle subscription pings the broker, so that a silently dead connection is noticed.
    pub keepalive: Duration,
    /// How many received payloads a subscription buffers before it stops reading from the broker.
    pub buffer: usize,
}

impl Default for RedisBusOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_CHANNEL_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(2),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            buffer: 4096,
        }
    }
}

/// A [`DistributedEventBus`] over Redis pub/sub.
///
/// Publishing fails fast while the broker is known to be away (between reconnection attempts), so that a
/// committed request is never held up by an outage for longer than one connection attempt.
pub struct RedisEventBus {
    client: Client,
    options: RedisBusOptions,
    publisher: tokio::sync::Mutex<Publisher>,
    // One flag per live subscription: whether it is currently subscribed on the broker.
    subscriptions: Mutex<Vec<Weak<AtomicBool>>>,
}

struct Publisher {
    connection: Option<MultiplexedConnection>,
    retry_at: Option<Instant>,
    backoff: Backoff,
}

impl std::fmt::Debug for RedisEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEventBus").field("prefix", &self.options.prefix).finish_non_exhaustive()
    }
}

fn unavailable(error: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(error.to_string())
}

impl RedisEventBus {
    /// A bus on the Redis server `url` names (`redis://[user:password@]host[:port][/db]`). Nothing is
    /// connected yet: publishers connect on first use, subscriptions when they start.
    pub fn open(url: &str, options: RedisBusOptions) -> Result<Self, BusError> {
        let client = Client::open(url).map_err(unavailable)?;
        let backoff = Backoff::new(options.initial_backoff, options.max_backoff);
        Ok(Self {
            client,
            options,
            publisher: tokio::sync::Mutex::new(Publisher { connection: None, retry_at: None, backoff }),
            subscriptions: Mutex::new(Vec::new()),
        })
    }

    fn channel(&self, name: &str) -> String {
        format!("{}:{name}", self.options.prefix)
    }

    /// The publishing connection: the current one, a new one, or an error while waiting out a backoff.
    async fn publisher(&self) -> Result<MultiplexedConnection, BusError> {
        let mut publisher = self.publisher.lock().await;
        if let Some(connection) = &publisher.connection {
            return Ok(connection.clone());
        }
        if let Some(at) = publisher.retry_at
            && Instant::now() < at
        {
            return Err(BusError::Unavailable("the Redis broker is unreachable; waiting to reconnect".into()));
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(self.options.operation_timeout));
        match self.client.get_multiplexed_async_connection_with_config(&config).await {
            Ok(connection) => {
                if publisher.retry_at.take().is_some() {
                    tracing::info!("event bus publisher reconnected to Redis");
                }
                publisher.backoff.reset();
                publisher.connection = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                let delay = publisher.backoff.next_delay();
                publisher.retry_at = Some(Instant::now() + delay);
                tracing::warn!(%error, retry_in = ?delay, "event bus publisher cannot reach Redis");
                Err(unavailable(error))
            }
        }
    }

    /// Forgets a publishing connection that failed, so that the next publish reconnects (after a backoff).
    async fn publisher_failed(&self) {
        let mut publisher = self.publisher.lock().await;
        publisher.connection = None;
        let delay = publisher.backoff.next_delay();
        publisher.retry_at = Some(Instant::now() + delay);
    }

    async fn run_command<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, BusError> {
        let mut connection = self.publisher().await?;
        let result = tokio::time::timeout(self.options.operation_timeout, command.query_async::<T>(&mut connection))
            .await
            .map_err(|_| BusError::Unavailable("the Redis broker did not answer in time".into()))
            .and_then(|r| r.map_err(unavailable));
        if result.is_err() {
            self.publisher_failed().await;
        }
        result
    }
}

#[async_trait]
impl DistributedEventBus for RedisEventBus {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BusError> {
        let mut command = redis::cmd("PUBLISH");
        command.arg(self.channel(channel)).arg(payload);
        self.run_command::<i64>(command).await.map(|_receivers| ())
    }

    async fn subscribe(&self, channel: &str) -> Result<BusSubscription, BusError> {
        let connected = Arc::new(AtomicBool::new(false));
        {
            let mut subscriptions = self.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
            subscriptions.retain(|s| s.strong_count() > 0);
            subscriptions.push(Arc::downgrade(&connected));
        }
        let (tx, rx) = mpsc::channel(self.options.buffer.max(1));
        let (first_tx, first_rx) = oneshot::channel();
        let subscriber = Subscriber {
            client: self.client.clone(),
            channel: self.channel(channel),
            options: self.options.clone(),
            connected,
            payloads: tx,
        };
        let task = tokio::spawn(subscriber.run(first_tx));
        // Wait for the first attempt only: a broker that is down at start must not stop the node.
        let first = first_rx.await.unwrap_or(Err(BusError::Closed));
        if let Err(error) = first {
            tracing::warn!(%error, channel, "event bus subscription not connected yet; retrying in the background");
        }
        Ok(BusSubscription::new(rx, Some(task)))
    }

    async fn check(&self) -> Result<(), BusError> {
        let down = {
            let subscriptions = self.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
            subscriptions.iter().filter_map(Weak::upgrade).filter(|c| !c.load(Ordering::Acquire)).count()
        };
        if down > 0 {
            return Err(BusError::Unavailable(format!("{down} event bus subscription(s) not connected")));
        }
        self.run_command::<redis::Value>(redis::cmd("PING")).await.map(|_| ())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// The background task of one subscription.
struct Subscriber {
    client: Client,
    channel: String,
    options: RedisBusOptions,
    connected: Arc<AtomicBool>,
    payloads: mpsc::Sender<Vec<u8>>,
}

/// Why a connected subscription stopped.
enum Ended {
    /// The subscriber was dropped: stop for good.
    Closed,
    /// The connection was lost: reconnect.
    Lost(String),
}

impl Subscriber {
    async fn run(self, first: oneshot::Sender<Result<(), BusError>>) {
        let mut first = Some(first);
        let mut backoff = Backoff::new(self.options.initial_backoff, self.options.max_backoff);
        loop {
            match self.connect().await {
                Ok(pubsub) => {
                    self.connected.store(true, Ordering::Release);
                    backoff.reset();
                    if let Some(first) = first.take() {
                        let _ = first.send(Ok(()));
                    } else {
                        tracing::info!(channel = %self.channel, "event bus subscription reconnected");
                    }
                    let ended = self.pump(pubsub).await;
                    self.connected.store(false, Ordering::Release);
                    match ended {
                        Ended::Closed => return,
                        Ended::Lost(reason) => {
                            tracing::warn!(channel = %self.channel, %reason, "event bus subscription lost")
                        }
                    }
                }
                Err(error) => {
                    tracing::debug!(channel = %self.channel, %error, "event bus subscription attempt failed");
                    if let Some(first) = first.take() {
                        let _ = first.send(Err(error));
                    }
                }
            }
            let delay = backoff.next_delay();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.payloads.closed() => return,
            }
        }
    }

    async fn connect(&self) -> Result<redis::aio::PubSub, BusError> {
        let attempt = async {
            let mut pubsub = self.client.get_async_pubsub().await.map_err(unavailable)?;
            pubsub.subscribe(&self.channel).await.map_err(unavailable)?;
            Ok(pubsub)
        };
        tokio::time::timeout(self.options.connect_timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(BusError::Unavailable("connecting to Redis timed out".into())))
    }

    /// Forwards payloads until the connection is lost or the subscriber goes away, pinging the broker when
    /// the channel is quiet so that a half-open connection does not go unnoticed.
    async fn pump(&self, pubsub: redis::aio::PubSub) -> Ended {
        let (mut sink, mut stream) = pubsub.split();
        let mut keepalive = tokio::time::interval(self.options.keepalive);
        keepalive.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else {
                        return Ended::Lost("connection closed".into());
                    };
                    if self.payloads.send(message.get_payload_bytes().to_vec()).await.is_err() {
                        return Ended::Closed;
                    }
                    keepalive.reset();
                }
                _ = keepalive.tick() => {
                    let ping = tokio::time::timeout(self.options.operation_timeout, sink.ping::<redis::Value>()).await;
                    match ping {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => return Ended::Lost(error.to_string()),
                        Err(_) => return Ended::Lost("keepalive ping timed out".into()),
                    }
                }
                () = self.payloads.closed() => return Ended::Closed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};
    use uuid::Uuid;

    /// The Redis server of `CHAT_TEST_REDIS_URL`, or `None` (the test prints why it is skipped).
    fn redis_url() -> Option<String> {
        let url = std::env::var("CHAT_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
        if url.is_none() {
            println!("skipped: set CHAT_TEST_REDIS_URL=redis://127.0.0.1:6379 to run the Redis bus tests");
        }
        url
    }

    fn options() -> RedisBusOptions {
        RedisBusOptions {
            prefix: format!("chat-test-{}", Uuid::new_v4().simple()),
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            keepalive: Duration::from_millis(200),
            ..RedisBusOptions::default()
        }
    }

    async fn next(sub: &mut BusSubscription) -> Option<Vec<u8>> {
        tokio::time::timeout(Duration::from_secs(5), sub.next()).await.ok().flatten()
    }

    /// A TCP proxy in front of Redis whose connections the test can cut, as a broker outage would.
    struct Proxy {
        addr: std::net::SocketAddr,
        connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
        _accept: tokio::task::JoinHandle<()>,
    }

    impl Proxy {
        async fn start(target: String) -> Option<Self> {
            let listener = TcpListener::bind("127.0.0.1:0").await.ok()?;
            let addr = listener.local_addr().ok()?;
            let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
            let tracked = connections.clone();
            let accept = tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let target = target.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    tracked.lock().unwrap_or_else(|p| p.into_inner()).push(task);
                }
            });
            Some(Self { addr, connections, _accept: accept })
        }

        fn cut(&self) {
            for task in self.connections.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
                task.abort();
            }
        }
    }

    #[tokio::test]
    async fn payloads_reach_every_subscriber_in_order() {
        let Some(url) = redis_url() else { return };
        let Ok(bus) = RedisEventBus::open(&url, options()) else { panic!("bad Redis URL") };
        let (Ok(mut a), Ok(mut b)) = (bus.subscribe("x").await, bus.subscribe("x").await) else {
            panic!("subscribe failed")
        };
        for i in 0..20u8 {
            assert!(bus.publish("x", vec![i]).await.is_ok());
        }
        for sub in [&mut a, &mut b] {
            for i in 0..20u8 {
                assert_eq!(next(sub).await, Some(vec![i]));
            }
        }
        assert!(bus.check().await.is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_broker_fails_fast_and_is_reported() {
        // Nothing listens on this port once the listener is dropped.
        let port = match TcpListener::bind("127.0.0.1:0").await.and_then(|l| l.local_addr()) {
            Ok(addr) => addr.port(),
            Err(e) => panic!("{e}"),
        };
        let Ok(bus) = RedisEventBus::open(&format!("redis://127.0.0.1:{port}"), options()) else { panic!() };
        assert!(bus.subscribe("x").await.is_ok(), "a broker that is down must not stop the node");
        assert!(bus.check().await.is_err());
        assert!(bus.publish("x", vec![1]).await.is_err());
        // Within the backoff window the next publish does not even try to connect.
        let started = std::time::Instant::now();
        assert!(bus.publish("x", vec![2]).await.is_err());
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn subscribers_and_publishers_reconnect_after_the_broker_comes_back() {
        let Some(url) = redis_url() else { return };
        let target = url.trim_start_matches("redis://").split(['/', '?']).next().unwrap_or_default().to_owned();
        let target = target.rsplit('@').next().unwrap_or_default().to_owned();
        let Some(proxy) = Proxy::start(target).await else { panic!("proxy") };
        let Ok(bus) = RedisEventBus::open(&format!("redis://{}", proxy.addr), options()) else { panic!() };
        let Ok(mut sub) = bus.subscribe("x").await else { panic!("subscribe failed") };
        assert!(bus.publish("x", b"before".to_vec()).await.is_ok());
        assert_eq!(next(&mut sub).await.as_deref(), Some(&b"before"[..]));

        proxy.cut();
        // Publishing while cut off fails (or, on a connection not yet known dead, reaches nobody), and never
        // blocks for long; within a few backoffs both sides are back.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            assert!(tokio::time::Instant::now() < deadline, "the bus did not come back");
            if bus.check().await.is_ok() && bus.publish("x", b"after".to_vec()).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(next(&mut sub).await.as_deref(), Some(&b"after"[..]));
    }
}
