//! The black-box test harness: [`spawn_app`] starts a real server on `127.0.0.1:0` through the same
//! `Application::build` as `main`, and [`TestApp`] / [`TestSocket`] talk to it as clients do (reqwest and a
//! real Socket.IO client). Every wait is event-driven with a timeout.
//!
//! The store is the one `CHAT_HOST_TEST_DATABASE_URL` names (`memory:` for the in-memory store), else a fresh
//! SQLite file in a temporary directory per test. Logs are silent unless `TEST_LOG` is set.
//!
//! For the reliability tests: [`history`] (what clients did and saw, and the checker), [`load`] (load
//! clients that retry and reconnect) and [`process`] (the server as a child process to kill and restart).

pub mod history;
pub mod load;
pub mod process;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_host::config::{Config, DatabaseConfig, Durability, JwtKeyConfig};
use futures_util::FutureExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Payload, TransportType};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The HS256 secret test servers are configured with.
pub const TEST_SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A user of a test: a fresh id (unique data per test) and, optionally, a tenant.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id (`sub`).
    pub id: Uuid,
    /// Tenant (`tenant_id`); `None` = the host tenant.
    pub tenant: Option<Uuid>,
    /// `preferred_username`.
    pub name: String,
    /// Whether the token says `roles: ["admin"]`.
    pub admin: bool,
}

impl TestUser {
    /// A new user of the host tenant.
    pub fn new(name: &str) -> Self {
        Self {
            id: Uuid::new_v4(),
            tenant: None,
            name: format!("{name}-{}", &Uuid::new_v4().simple().to_string()[..6]),
            admin: false,
        }
    }

    /// A new user of `tenant`.
    pub fn in_tenant(name: &str, tenant: Uuid) -> Self {
        Self { tenant: Some(tenant), ..Self::new(name) }
    }

    /// The same user as a tenant admin.
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }
}

/// Signs claims with the test secret.
pub fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(TEST_SECRET.as_bytes()))
        .unwrap()
}

/// Claims for a user, valid for an hour.
pub fn claims_for(user: &TestUser) -> Value {
    let exp = chrono::Utc::now().timestamp() + 3600;
    let mut claims = json!({ "sub": user.id.to_string(), "preferred_username": user.name, "exp": exp });
    if let Some(t) = user.tenant {
        claims["tenant_id"] = json!(t.to_string());
    }
    if user.admin {
        claims["roles"] = json!(["admin"]);
    }
    claims
}

/// A valid token for a user.
pub fn token_for(user: &TestUser) -> String {
    sign(&claims_for(user))
}

pub mod tokens;

/// Base64url without padding (to hand-craft malformed tokens).
pub fn b64url(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(input)
}

/// A running server.
pub struct TestApp {
    /// Bound address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The gRPC address, when the configuration set `grpc_listen`.
    pub grpc_addr: Option<SocketAddr>,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The server's shared state (for tests that reach behind the API, such as pruning the event streams).
    pub state: chat_host::ChatState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    dir: PathBuf,
    owns_dir: bool,
}

/// Starts a server with the test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The configuration [`spawn_app`] uses, with its data under `dir`.
pub fn test_config(dir: &std::path::Path) -> Config {
    let url = std::env::var("CHAT_HOST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("chat.db").display()));
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database: DatabaseConfig { durability: Durability::Fast, ..DatabaseConfig::new(url) },
        jwt: JwtKeyConfig::Secret(TEST_SECRET.to_owned()),
        dev_secret_file: Some(dir.join("dev-secret")),
        blob_dir: dir.join("blobs"),
        shutdown_grace: Duration::from_secs(5),
        ..Config::default()
    }
}

/// A fresh temporary directory for a test's data.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-test-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts a server after `adjust` changed the test configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut app = spawn_app_in(&temp_dir(), adjust).await;
    app.owns_dir = true;
    app
}

/// Starts a server keeping its data in `dir`, which outlives it (for restart tests; the caller removes it).
pub async fn spawn_app_in(dir: &std::path::Path, adjust: impl FnOnce(&mut Config)) -> TestApp {
    chat_host::telemetry::init_test_tracing();
    let dir = dir.to_path_buf();
    let mut config = test_config(&dir);
    adjust(&mut config);
    let app = chat_host::Application::build(config).await.unwrap();
    let addr = app.local_addr();
    let grpc_addr = app.grpc_addr();
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run(async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        grpc_addr,
        http: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
        state,
        shutdown: Some(tx),
        server: Some(server),
        dir,
        owns_dir: false,
    }
}

impl TestApp {
    /// The URL of a path (`/api/chat/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the user's token.
    pub fn req(&self, method: reqwest::Method, path: &str, user: &TestUser) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token_for(user))
    }

    /// `GET` as a user; returns status and JSON body (`null` when empty).
    pub async fn get(&self, user: &TestUser, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::GET, path, user)).await
    }

    /// `POST` JSON as a user.
    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::POST, path, user).json(&body)).await
    }

    /// `PUT` JSON as a user.
    pub async fn put(&self, user: &TestUser, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::PUT, path, user).json(&body)).await
    }

    /// `PATCH` JSON as a user.
    pub async fn patch(&self, user: &TestUser, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::PATCH, path, user).json(&body)).await
    }

    /// `DELETE` as a user.
    pub async fn delete(&self, user: &TestUser, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::DELETE, path, user)).await
    }

    /// Sends a direct message; returns the message.
    pub async fn send_to(&self, from: &TestUser, to: &TestUser, text: &str) -> Value {
        let (status, body) =
            self.post(from, "/api/chat/messages", json!({ "targetUserId": to.id, "text": text })).await;
        assert_eq!(status, 201, "send failed: {body}");
        body
    }

    /// Uploads `bytes` as an attachment named `name` (declared `image/png`; the server checks the content);
    /// returns status and body.
    pub async fn upload(&self, user: &TestUser, name: &str, bytes: Vec<u8>) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("image/png");
        let form = reqwest::multipart::Form::new().part("file", part.expect("a valid MIME type"));
        send(self.req(reqwest::Method::POST, "/api/chat/attachments", user).multipart(form)).await
    }

    /// Makes sure the server knows a user (each authenticated call upserts the caller).
    pub async fn touch(&self, user: &TestUser) {
        let (status, body) = self.get(user, "/api/chat/contacts/unread-count").await;
        assert_eq!(status, 200, "{body}");
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http.get(self.url("/metrics")).send().await.unwrap().text().await.unwrap()
    }

    /// One unlabelled series of the `/metrics` text, as an integer (panics if it is missing).
    pub async fn metric(&self, name: &str) -> u64 {
        let metrics = self.metrics().await;
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name}:\n{metrics}"));
        line[name.len() + 1..].parse().unwrap_or_else(|_| panic!("{line}"))
    }

    /// Whether `/health/live` answers 200.
    pub async fn is_healthy(&self) -> bool {
        matches!(self.http.get(self.url("/health/live")).send().await, Ok(r) if r.status() == 200)
    }

    /// Opens a socket with the user's token and waits for `ready`.
    pub async fn socket(&self, user: &TestUser) -> TestSocket {
        self.socket_with_auth(json!({ "token": token_for(user) })).await.unwrap()
    }

    /// Opens a socket with a handshake `auth` object; `Err` carries the connect error.
    pub async fn socket_with_auth(&self, auth: Value) -> Result<TestSocket, String> {
        TestSocket::connect(&self.base, auth, None).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(30), server).await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends a request; returns status and JSON body (`null` when empty or not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A PNG signature and header followed by zero filler, `size` bytes in all: enough for type detection.
pub fn png(size: usize) -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00".to_vec();
    bytes.resize(size.max(bytes.len()), 0);
    bytes
}

/// A connected Socket.IO client whose events are queued for the test to wait on.
pub struct TestSocket {
    client: Client,
    events: mpsc::UnboundedReceiver<(String, Value)>,
    /// Events already received but not yet asked for.
    pending: Vec<(String, Value)>,
    /// The `eventSeq`s [`next_new`](Self::next_new) has handed out, and how many repeats it dropped.
    applied: std::collections::BTreeSet<i64>,
    duplicates: usize,
    /// The `ready` payload.
    pub ready: Value,
}

impl TestSocket {
    /// Connects with `auth` (and a browser `Origin`, if given) and waits for `ready` or a connect error.
    pub async fn connect(base: &str, auth: Value, origin: Option<&str>) -> Result<TestSocket, String> {
        match origin {
            Some(origin) => Self::connect_with_headers(base, auth, &[("Origin", origin)]).await,
            None => Self::connect_with_headers(base, auth, &[]).await,
        }
    }

    /// Connects with `auth` and extra handshake headers, and waits for `ready` or a connect error.
    pub async fn connect_with_headers(base: &str, auth: Value, headers: &[(&str, &str)]) -> Result<TestSocket, String> {
        Self::connect_over(TransportType::Any, base, auth, headers).await
    }

    /// Connects over one transport (`Websocket` only, `Polling` only, or `Any`: polling upgraded to a
    /// WebSocket) with `auth` and extra headers on every request, and waits for `ready` or a connect error.
    pub async fn connect_over(
        transport: TransportType,
        base: &str,
        auth: Value,
        headers: &[(&str, &str)],
    ) -> Result<TestSocket, String> {
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
        let any_tx = tx.clone();
        let err_tx = tx.clone();
        let close_tx = tx.clone();
        let mut builder = ClientBuilder::new(base.to_owned())
            .namespace("/")
            .auth(auth)
            .transport_type(transport)
            .reconnect(false)
            .on_any(move |event, payload, _| {
                let tx = any_tx.clone();
                async move {
                    let _ = tx.send((String::from(event), payload_value(payload)));
                }
                .boxed()
            })
            .on("error", move |payload, _| {
                let tx = err_tx.clone();
                async move {
                    let _ = tx.send(("error".to_owned(), payload_value(payload)));
                }
                .boxed()
            })
            .on("close", move |_, _| {
                let tx = close_tx.clone();
                async move {
                    let _ = tx.send(("close".to_owned(), Value::Null));
                }
                .boxed()
            });
        for (name, value) in headers {
            builder = builder.opening_header(*name, *value);
        }
        let client = builder.connect().await.map_err(|e| e.to_string())?;
        // `connect()` returns before the namespace CONNECT (or CONNECT_ERROR) arrives: wait for `ready`.
        let mut pending = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((name, value))) if name == "ready" => {
                    return Ok(TestSocket {
                        client,
                        events: rx,
                        pending,
                        applied: Default::default(),
                        duplicates: 0,
                        ready: value,
                    });
                }
                Ok(Some((name, value))) if name == "error" => {
                    let _ = client.disconnect().await;
                    return Err(value.to_string());
                }
                Ok(Some(other)) => pending.push(other),
                Ok(None) => return Err("socket closed before ready".to_owned()),
                Err(_) => {
                    let _ = client.disconnect().await;
                    return Err("timed out waiting for ready".to_owned());
                }
            }
        }
    }

    /// Waits for the next event named `name` (other events stay queued).
    pub async fn next(&mut self, name: &str) -> Value {
        self.try_next(name, WAIT).await.unwrap_or_else(|| panic!("no `{name}` event within {WAIT:?}"))
    }

    /// Waits up to `timeout` for the next event named `name`.
    pub async fn try_next(&mut self, name: &str, timeout: Duration) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(|(n, _)| n == name) {
            return Some(self.pending.remove(i).1);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some((n, v))) if n == name => return Some(v),
                Ok(Some(other)) => self.pending.push(other),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits up to `timeout` for the next event of any name, in arrival order (`close` when the server
    /// closed the socket).
    pub async fn next_any(&mut self, timeout: Duration) -> Option<(String, Value)> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        tokio::time::timeout(timeout, self.events.recv()).await.ok().flatten()
    }

    /// Waits for the next event named `name` that carries an `eventSeq` not applied yet, dropping repeats:
    /// the client rule of `docs/events.md` (delivery is at least once; an `eventSeq` already applied is
    /// dropped). Events without an `eventSeq` (ephemeral) are always new.
    pub async fn next_new(&mut self, name: &str) -> Value {
        loop {
            let event = self.next(name).await;
            match event["eventSeq"].as_i64() {
                Some(seq) if !self.applied.insert(seq) => self.duplicates += 1,
                _ => return event,
            }
        }
    }

    /// How many repeated `eventSeq`s [`next_new`](Self::next_new) has dropped.
    pub fn duplicates_dropped(&self) -> usize {
        self.duplicates
    }

    /// Takes every event received so far (queued or not yet asked for), oldest first.
    pub fn drain(&mut self) -> Vec<(String, Value)> {
        let mut all = std::mem::take(&mut self.pending);
        while let Ok(event) = self.events.try_recv() {
            all.push(event);
        }
        all
    }

    /// Drops every queued event (after a step whose events do not matter).
    pub fn clear(&mut self) {
        self.pending.clear();
        while self.events.try_recv().is_ok() {}
    }

    /// Emits an event with data and waits for the acknowledgement; returns its first argument.
    pub async fn ack(&self, event: &str, data: Value) -> Value {
        self.ack_payload(event, Payload::Text(vec![data])).await
    }

    /// Emits an event with a raw payload and waits for the acknowledgement.
    pub async fn ack_payload(&self, event: &str, payload: Payload) -> Value {
        let (tx, rx) = oneshot::channel::<Value>();
        let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
        self.client
            .emit_with_ack(event, payload, WAIT, move |p: Payload, _| {
                let tx = tx.clone();
                async move {
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(payload_value(p));
                    }
                }
                .boxed()
            })
            .await
            .unwrap();
        let value = tokio::time::timeout(WAIT, rx).await.expect("no acknowledgement in time").unwrap();
        // rust_socketio hands the ack's argument list wrapped in one more array.
        match value {
            Value::Array(mut args) if !args.is_empty() => args.remove(0),
            other => other,
        }
    }

    /// Emits an event without waiting.
    pub async fn emit(&self, event: &str, data: Value) {
        self.client.emit(event, data).await.unwrap();
    }

    /// Emits an event with a raw payload without waiting.
    pub async fn emit_payload(&self, event: &str, payload: Payload) {
        self.client.emit(event, payload).await.unwrap();
    }

    /// Closes the socket.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
    }
}

/// What a multi-node test shares between its nodes: a PostgreSQL URL on a fresh schema of its own and a
/// Redis bus URL with a key prefix of its own; or `None` after printing why the test is skipped (the
/// services are not configured).
pub async fn cluster_urls() -> Option<(String, String)> {
    let db = std::env::var("CHAT_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"));
    let redis = std::env::var("CHAT_TEST_REDIS_URL").ok().filter(|u| u.starts_with("redis"));
    let (Some(db), Some(redis)) = (db, redis) else {
        println!(
            "skipped: the cluster test needs CHAT_TEST_DATABASE_URL=postgres://… and \
             CHAT_TEST_REDIS_URL=redis://127.0.0.1:6379"
        );
        return None;
    };
    let db = chat_infrastructure::persistence::testing::fresh_postgres_schema(&db)
        .await
        .unwrap_or_else(|e| panic!("a fresh PostgreSQL schema: {e}"));
    let sep = if redis.contains('?') { '&' } else { '?' };
    Some((db, format!("{redis}{sep}prefix=chat-test-{}", Uuid::new_v4().simple())))
}

/// A payload as JSON: a single argument as itself, several as an array.
pub(crate) fn payload_value(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if values.len() == 1 => values.remove(0),
        Payload::Text(values) => Value::Array(values),
        Payload::Binary(bytes) => json!({ "binary": bytes.len() }),
        #[allow(deprecated)]
        Payload::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
    }
}
