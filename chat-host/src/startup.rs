//! [`Application`]: the reference server assembled from a [`Config`], as `main` and the black-box tests
//! start it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::http::{HeaderName, Request, header};
use chat_application::{ChatModule, ChatOptions, RealTimeChatMessageSender, RealtimeEvent, SenderError};
use chat_infrastructure::blob::LocalFileBlobStore;
use chat_infrastructure::bus::{self, BusConfig, BusError};
use chat_infrastructure::persistence::SeaOrmOutbox;
use chat_infrastructure::presence::PresenceSweeper;
use chat_infrastructure::realtime::{
    EventBusChatMessageSender, EventRelay, OutboxRelay, OutboxRelayTask, OutboxStats, PublishedLog, PublishedLogTask,
    SocketIoChatMessageSender,
};
use socketioxide::SocketIo;
use socketioxide::layer::SocketIoLayer;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{AuthError, JwtAuth, JwtAuthenticator};
use crate::config::{Config, redact_url};
use crate::grpc::{FanOutChatMessageSender, GrpcServer, GrpcSubscribers};
use crate::health::{BusReadiness, Readiness, health_router};
use crate::http::{self, origin::cors_layer, routes};
use crate::metrics::Metrics;
use crate::socket;
use crate::state::ChatState;
use crate::storage::{StoreError, open_store};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The token keys are unusable.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The attachment directory cannot be used.
    #[error("cannot use the attachment directory {dir}: {source}")]
    BlobDir {
        /// The directory.
        dir: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC address could not be bound.
    #[error("cannot listen for gRPC on {addr}: {source}")]
    GrpcBind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `CHAT_BUS_URL` names a broker this version cannot use, or the bus cannot be set up.
    #[error("CHAT_BUS_URL: {0}")]
    Bus(#[from] BusError),
    /// Cluster mode: the outbox relay's connection to the database could not be opened.
    #[error("cannot start the outbox relay: {0}")]
    Outbox(#[source] chat_domain::RepositoryError),
}

/// A built server: bound, migrated, ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    io: SocketIo,
    state: ChatState,
    shutdown_grace: std::time::Duration,
    event_retention: Option<std::time::Duration>,
    // In cluster mode: relays the other nodes' events to this node's sockets while the server runs.
    relay: Option<EventRelay>,
    // In cluster mode: announces users whose node died as offline.
    sweeper: Option<PresenceSweeper>,
    // With `CHAT_GRPC_LISTEN`: the gRPC server, on its own listener.
    grpc: Option<GrpcServer>,
    // In cluster mode on PostgreSQL: publishes committed events whose inline publication was lost.
    outbox: Option<OutboxTasks>,
}

/// The outbox relay and the writer of its markers, stopped with the server.
struct OutboxTasks {
    relay: OutboxRelayTask,
    _markers: PublishedLogTask,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// The request-id header.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl Application {
    /// Opens the store (running migrations), prepares authentication, wires the chat module to a Socket.IO
    /// sender (behind the event bus in cluster mode), builds the router and binds the listener.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let bus_config = BusConfig::parse(config.bus_url.as_deref())?;
        let store = open_store(&config.database, config.write_queue_limit).await?;
        let jwt = Arc::new(JwtAuth::from_config(&config)?);
        if jwt.is_development() {
            tracing::warn!(
                secret_file = %config.dev_secret_path().display(),
                "DEVELOPMENT MODE: no CHAT_JWT_SECRET or CHAT_JWT_PUBLIC_KEY is set. Tokens are signed with a \
                 generated secret kept in `secret_file`, and POST /api/dev/login hands out tokens to anyone. \
                 Never expose this server."
            );
        }

        let metrics = Arc::new(Metrics::new());
        if let Some(queue) = store.write_queue.clone() {
            metrics.set_write_queue(queue);
        }
        let (socket_layer, io) = socket::socket_io(&config.limits);
        let mut local: Arc<dyn RealTimeChatMessageSender> =
            Arc::new(MeteredSender { inner: SocketIoChatMessageSender::new(io.clone()), metrics: metrics.clone() });
        // gRPC subscribers get this node's deliveries beside its sockets (in cluster mode too: the bus
        // relays other nodes' events to this local sender).
        let grpc_subscribers = config.grpc_listen.map(|_| GrpcSubscribers::new());
        if let Some(subscribers) = &grpc_subscribers {
            local = Arc::new(FanOutChatMessageSender::new(vec![local, Arc::new(subscribers.clone())]));
        }
        let (sender, readiness, relay, outbox) = if bus_config.is_distributed() {
            // Cluster mode: deliver to this node's sockets and publish to the other nodes; relay theirs here.
            let bus = bus::connect(&bus_config)?;
            let mut sender = EventBusChatMessageSender::new(bus.clone(), local);
            // Events committed but not published (a node died in between, or lost the broker) are published
            // by the outbox relay of some node after a grace period.
            let outbox = if config.database.url.starts_with("postgres") {
                let outbox = SeaOrmOutbox::connect(&config.database.url).await.map_err(StartupError::Outbox)?;
                let stats = Arc::new(OutboxStats::default());
                let (log, markers) = PublishedLog::start(outbox.clone(), stats.clone());
                sender = sender.with_published_log(log);
                let relay = OutboxRelay::new(outbox, sender.republisher(), config.outbox_relay, stats.clone()).start();
                metrics.set_outbox(stats);
                Some(OutboxTasks { relay, _markers: markers })
            } else {
                tracing::warn!(
                    "cluster mode without PostgreSQL: no outbox relay runs, so events a node commits but cannot \
                     publish reach other nodes' clients only at their next sync or reconnect"
                );
                None
            };
            let relay = sender.start().await?;
            tracing::info!(
                bus = bus.kind(),
                node = %sender.node_id(),
                config = ?bus_config,
                "cluster mode: real-time events go through the event bus"
            );
            let readiness: Arc<dyn Readiness> = Arc::new(BusReadiness::new(store.readiness, bus));
            (Arc::new(sender) as Arc<dyn RealTimeChatMessageSender>, readiness, Some(relay), outbox)
        } else {
            (local, store.readiness, None, None)
        };
        let blobs = LocalFileBlobStore::open(&config.blob_dir)
            .await
            .map_err(|source| StartupError::BlobDir { dir: config.blob_dir.clone(), source })?;
        let options = ChatOptions {
            rate_limits: config.rate_limits,
            tenant_settings_ttl: config.tenant_settings_ttl,
            ..ChatOptions::default()
        };
        let mut chat =
            ChatModule::builder(store.repositories).sender(sender).blob_store(Arc::new(blobs)).options(options);
        // Cluster mode: presence is counted in Redis, so that every node sees every node's sockets.
        if let Some(tracker) = chat_infrastructure::presence::for_bus(&bus_config)? {
            chat = chat.presence_tracker(tracker);
        }
        let chat = chat.build();
        let mut builder = ChatState::builder(chat, Arc::new(JwtAuthenticator::new(jwt.clone())))
            .metrics(metrics)
            .readiness(readiness)
            .allowed_origins(config.allowed_origins.clone())
            .limits(config.limits.clone());
        if jwt.is_development() {
            builder = builder.dev_login(jwt);
        }
        let state = builder.build();
        socket::register_namespace(&io, state.clone());
        let sweeper = PresenceSweeper::start(state.chat().presence().clone());
        let router = server_router(state.clone(), socket_layer);

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind { addr: config.listen, source })?;
        let grpc = match (config.grpc_listen, grpc_subscribers) {
            (Some(grpc_addr), Some(subscribers)) => Some(
                GrpcServer::bind(grpc_addr, state.clone(), subscribers)
                    .await
                    .map_err(|source| StartupError::GrpcBind { addr: grpc_addr, source })?,
            ),
            _ => None,
        };
        let grpc_addr = grpc.as_ref().map(GrpcServer::local_addr);
        tracing::info!(%addr, grpc = ?grpc_addr, database = %redact_url(&config.database.url), "chat server ready");
        Ok(Self {
            listener,
            addr,
            router,
            io,
            state,
            shutdown_grace: config.shutdown_grace,
            relay,
            sweeper,
            grpc,
            outbox,
            event_retention: config.event_retention,
        })
    }

    /// The bound address (with the real port when the configuration asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound gRPC address, when `CHAT_GRPC_LISTEN` is set (with the real port when it asked for port 0).
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(GrpcServer::local_addr)
    }

    /// The shared state (for embedders and tests that want to look inside).
    pub fn state(&self) -> &ChatState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then shuts down gracefully: sockets are closed, no new connection
    /// is accepted, and requests in flight finish (their writes are committed before they answer), within
    /// the configured grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Self { listener, router, io, shutdown_grace, relay, sweeper, grpc, outbox, state, event_retention, .. } =
            self;
        let pruner = event_retention.map(|retention| tokio::spawn(prune_events(state, retention)));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (stop_grpc, grpc_stopped) = tokio::sync::watch::channel(false);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: closing sockets and finishing requests in flight");
            let _ = started_tx.send(());
            let _ = stop_grpc.send(true);
            // Closing the sockets' transports also ends long-polling requests, which would otherwise hold the
            // drain. A closed transport (rather than a socket.io DISCONNECT) makes clients reconnect by
            // themselves, to this node once it is back or to another one, and catch up with `afterEventSeq`.
            io.close().await;
        };
        let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal);
        let deadline = async move {
            if started_rx.await.is_ok() {
                tokio::time::sleep(shutdown_grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let grpc = async move {
            let Some(grpc) = grpc else { return Ok(()) };
            let mut stopped = grpc_stopped;
            // Also ends when the HTTP side is gone without a signal (the sender is dropped).
            grpc.serve(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
            .inspect_err(|e| tracing::error!(error = %e, "the gRPC server failed"))
            .map_err(std::io::Error::other)
        };
        let both = async move {
            let (http, grpc) = tokio::join!(server, grpc);
            http.and(grpc)
        };
        tokio::select! {
            result = both => result?,
            () = deadline => tracing::warn!(grace = ?shutdown_grace, "graceful shutdown timed out; stopping anyway"),
        }
        drop(relay);
        drop(sweeper);
        if let Some(outbox) = outbox {
            // Lets a pass in progress finish; an aborted one is rolled back and another node redoes it.
            outbox.relay.stop(std::time::Duration::from_secs(5)).await;
        }
        if let Some(pruner) = pruner {
            pruner.abort();
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Prunes stored events older than `retention` while the server runs: at start, then every tenth of the
/// retention (between once a second and once an hour). Clients behind the pruned point get `resyncRequired`.
async fn prune_events(state: ChatState, retention: std::time::Duration) {
    let every = (retention / 10).clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(3600));
    let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cutoff = chrono::Utc::now().checked_sub_signed(keep).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        match state.chat().repositories().events.prune(cutoff).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, ?retention, "pruned stored events past the retention"),
            Err(e) => tracing::warn!(error = %e, "pruning stored events failed; will try again"),
        }
    }
}

/// Applies the migrations of the configured store.
pub async fn migrate(config: &Config) -> Result<(), StartupError> {
    crate::storage::migrate(&config.database).await.map_err(StartupError::from)
}

/// Checks the configured store's consistency (`chat-host check`): every side's unread count and last
/// message against the messages, and gap-free `seq`s with their counters. Only reads; run it after a crash
/// or a restore.
pub async fn check_integrity(
    config: &Config,
) -> Result<chat_infrastructure::persistence::IntegrityReport, StartupError> {
    crate::storage::check_integrity(&config.database).await.map_err(StartupError::from)
}

/// The whole reference server: REST under `/api/chat`, the development login, OpenAPI and its docs page,
/// health and metrics, the web chat page at `/`, and the socket layer, with request ids, tracing, CORS and the origin guard.
pub fn server_router(state: ChatState, socket_layer: SocketIoLayer) -> Router {
    let metrics = state.metrics().clone();
    let origins = Arc::new(state.allowed_origins().clone());
    let max_body = state.limits().max_body_bytes;
    let (api, _) = routes::api_routes().split_for_parts();
    let app = Router::new()
        .nest("/api/chat", api)
        .merge(routes::dev_router())
        .merge(health_router())
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", http::openapi::openapi("/api/chat")))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .with_state(state.clone())
        .merge(crate::web::web_router())
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::map_response(http::problem_responses))
        .layer(axum::middleware::from_fn_with_state(metrics, http::track_metrics))
        .layer(CatchPanicLayer::custom(http::layers_panic_response))
        .layer(socket_layer)
        .layer(axum::middleware::from_fn_with_state(origins, http::origin_guard))
        .layer(axum::middleware::map_response(http::nosniff));
    let app = match cors_layer(state.allowed_origins()) {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(|request: &Request<_>| {
                let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                // The path only: never the query string or headers, so no credential reaches the logs.
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
            // 5xx causes are logged once, where they happen (`ApiError`); no second log line here.
            .on_failure(()),
    )
    .layer(PropagateRequestIdLayer::new(REQUEST_ID))
    .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
    .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
}

/// Counts what the Socket.IO sender emits.
struct MeteredSender {
    inner: SocketIoChatMessageSender,
    metrics: Arc<Metrics>,
}

#[async_trait]
impl RealTimeChatMessageSender for MeteredSender {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        let count: usize = events.iter().map(|e| e.recipients.len()).sum();
        self.metrics.events_emitted(u64::try_from(count).unwrap_or(u64::MAX));
        self.inner.deliver(events).await
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
