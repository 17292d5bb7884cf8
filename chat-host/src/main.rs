//! The reference chat server: parses configuration (flags and `CHAT_*` environment variables) and hands it to
//! the library. Everything else lives in `chat_host`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use chat_host::auth::{JwtAuth, TokenRequest, user_id_for};
use chat_host::config::{
    AllowedOrigins, Config, DEFAULT_SOCKET_BUFFER_PACKETS, DatabaseConfig, Durability, HostLimits, JwtKeyConfig,
    OutboxRelayOptions, SqliteWriter,
};
use chat_host::telemetry::{LogFormat, init_tracing};
use clap::{Args, Parser, Subcommand};

/// The server's allocator. Under load glibc's malloc (fragmentation, `malloc_consolidate`) took about 16 % of
/// the process's CPU; with `override` SQLite's allocations go through it too. See docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Real-time chat server (REST + Socket.IO).
#[derive(Debug, Parser)]
#[command(name = "chat-host", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Check the database's consistency (unread counts, last messages, gap-free seqs); exits 1 on a problem.
    Check,
    /// Print a token signed with the configured secret (or development mode's generated one).
    Token(TokenArgs),
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// A user id (UUID), or a user name: a name maps to a stable UUID and becomes `preferred_username`.
    #[arg(long)]
    user: String,
    /// Tenant id (UUID); omitted = the host tenant.
    #[arg(long)]
    tenant: Option<uuid::Uuid>,
    /// Display name (`name` claim).
    #[arg(long)]
    name: Option<String>,
    /// Make the holder a tenant admin (`roles: ["admin"]`).
    #[arg(long)]
    admin: bool,
    /// Validity, in hours.
    #[arg(long, default_value_t = 24)]
    hours: u64,
}

#[derive(Debug, Args)]
struct Options {
    /// Address to bind; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "CHAT_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    listen: SocketAddr,
    /// Address of the gRPC server (e.g. `127.0.0.1:50051`); unset or empty = no gRPC.
    #[arg(long, env = "CHAT_GRPC_LISTEN", global = true)]
    grpc_listen: Option<String>,
    /// `sqlite:`, `postgres:` or `memory:` URL; migrations run at start.
    #[arg(
        long,
        env = "CHAT_DATABASE_URL",
        default_value = "sqlite://chat.db?mode=rwc",
        global = true,
        hide_env_values = true
    )]
    database_url: String,
    /// Largest database connection pool.
    #[arg(long, env = "CHAT_DATABASE_MAX_CONNECTIONS", global = true)]
    database_max_connections: Option<u32>,
    /// `strict` (fsync on commit) or `fast` (safe across process crashes only).
    #[arg(long, env = "CHAT_DURABILITY", default_value = "strict", global = true)]
    durability: Durability,
    /// How the writer reaches a SQLite file: `c-api` (its own connection on SQLite's C API) or `driver`
    /// (a connection of the async driver's pool).
    #[arg(long, env = "CHAT_SQLITE_WRITER", default_value = "c-api", global = true)]
    sqlite_writer: SqliteWriter,
    /// Broker URL for real-time events between nodes; unset = in-process.
    #[arg(long, env = "CHAT_BUS_URL", global = true, hide_env_values = true)]
    bus_url: Option<String>,
    /// HS256 secret for tokens (at least 16 bytes).
    #[arg(long, env = "CHAT_JWT_SECRET", global = true, hide_env_values = true, conflicts_with = "jwt_public_key")]
    jwt_secret: Option<String>,
    /// RS256/ES256 public key: PEM text, or the path of a PEM file.
    #[arg(long, env = "CHAT_JWT_PUBLIC_KEY", global = true, hide_env_values = true)]
    jwt_public_key: Option<String>,
    /// Required `iss` claim of tokens; unset = not checked.
    #[arg(long, env = "CHAT_JWT_ISSUER", global = true)]
    jwt_issuer: Option<String>,
    /// Required `aud` claim of tokens (one of the token's audiences); unset = not checked.
    #[arg(long, env = "CHAT_JWT_AUDIENCE", global = true)]
    jwt_audience: Option<String>,
    /// Where development mode keeps its generated secret (default: next to the database).
    #[arg(long, env = "CHAT_DEV_SECRET_FILE", global = true)]
    dev_secret_file: Option<PathBuf>,
    /// Where uploaded attachments are stored.
    #[arg(long, env = "CHAT_BLOB_DIR", default_value = "chat-data/blobs", global = true)]
    blob_dir: PathBuf,
    /// Comma-separated browser origins allowed to open sockets and call the API; unset = same origin only.
    #[arg(long, env = "CHAT_ALLOWED_ORIGINS", global = true)]
    allowed_origins: Option<String>,
    /// Most sockets one user may hold open.
    #[arg(long, env = "CHAT_MAX_SOCKETS_PER_USER", default_value_t = 30, global = true)]
    max_sockets_per_user: usize,
    /// Packets queued per socket for a client that reads slowly; a socket whose buffer fills up is
    /// disconnected and catches up when it reconnects.
    #[arg(long, env = "CHAT_SOCKET_BUFFER_PACKETS", default_value_t = DEFAULT_SOCKET_BUFFER_PACKETS, global = true)]
    socket_buffer_packets: usize,
    /// How many seconds stored events are kept for catch-up (`sync`, `afterEventSeq`); 0 keeps them for ever.
    #[arg(long, env = "CHAT_EVENT_RETENTION", default_value_t = 7 * 24 * 3600, global = true)]
    event_retention: u64,
    /// How long (ms) a tenant's settings are reused before they are read again: the time other nodes take
    /// to see a change; 0 reads them on every call.
    #[arg(long, env = "CHAT_TENANT_SETTINGS_TTL_MS", default_value_t = 5000, global = true)]
    tenant_settings_ttl_ms: u64,
    /// Admission control: while writes wait longer than this (ms) in the store's queue, new ones are
    /// refused with `chat.overloaded` (503, `Retry-After`); 0 queues every write.
    #[arg(long, env = "CHAT_WRITE_QUEUE_LIMIT_MS", default_value_t = 2000, global = true)]
    write_queue_limit_ms: u64,
    /// Log format: `text` or `json`.
    #[arg(long, env = "CHAT_LOG_FORMAT", default_value = "text", global = true)]
    log_format: LogFormat,
    /// Cluster mode: how long (ms) inline publishing gets before the outbox relay publishes an event itself.
    #[arg(long, env = "CHAT_OUTBOX_GRACE_MS", default_value_t = 2000, global = true)]
    outbox_grace_ms: u64,
    /// Cluster mode: time (ms) between outbox relay passes.
    #[arg(long, env = "CHAT_OUTBOX_INTERVAL_MS", default_value_t = 500, global = true)]
    outbox_interval_ms: u64,
}

impl Options {
    fn into_config(self) -> anyhow::Result<Config> {
        let jwt = match (self.jwt_secret.filter(|s| !s.is_empty()), self.jwt_public_key.filter(|s| !s.is_empty())) {
            (Some(_), Some(_)) => bail!("set CHAT_JWT_SECRET or CHAT_JWT_PUBLIC_KEY, not both"),
            (Some(secret), None) => JwtKeyConfig::Secret(secret),
            (None, Some(key)) if key.trim_start().starts_with("-----BEGIN") => JwtKeyConfig::PublicKeyPem(key),
            (None, Some(path)) => JwtKeyConfig::PublicKeyPem(
                std::fs::read_to_string(&path).with_context(|| format!("reading CHAT_JWT_PUBLIC_KEY file {path}"))?,
            ),
            (None, None) => JwtKeyConfig::Development,
        };
        let grpc_listen = match self.grpc_listen.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(addr) => Some(addr.parse().with_context(|| format!("CHAT_GRPC_LISTEN `{addr}` is not an address"))?),
            None => None,
        };
        Ok(Config {
            listen: self.listen,
            grpc_listen,
            database: DatabaseConfig {
                url: self.database_url,
                durability: self.durability,
                max_connections: self.database_max_connections,
                sqlite_writer: self.sqlite_writer,
            },
            bus_url: self.bus_url.filter(|s| !s.is_empty()),
            jwt,
            jwt_issuer: self.jwt_issuer.filter(|s| !s.is_empty()),
            jwt_audience: self.jwt_audience.filter(|s| !s.is_empty()),
            dev_secret_file: self.dev_secret_file,
            blob_dir: self.blob_dir,
            allowed_origins: self.allowed_origins.as_deref().map(AllowedOrigins::parse).unwrap_or_default(),
            event_retention: (self.event_retention > 0).then(|| Duration::from_secs(self.event_retention)),
            tenant_settings_ttl: Duration::from_millis(self.tenant_settings_ttl_ms),
            write_queue_limit: (self.write_queue_limit_ms > 0)
                .then(|| Duration::from_millis(self.write_queue_limit_ms)),
            limits: HostLimits {
                max_sockets_per_user: self.max_sockets_per_user.max(1),
                socket_buffer_packets: self.socket_buffer_packets.max(16),
                ..HostLimits::default()
            },
            outbox_relay: OutboxRelayOptions {
                grace: Duration::from_millis(self.outbox_grace_ms),
                interval: Duration::from_millis(self.outbox_interval_ms.max(10)),
                ..OutboxRelayOptions::default()
            },
            ..Config::default()
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.options.log_format);
    let config = cli.options.into_config()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = chat_host::Application::build(config).await?;
            // Scripts and tests read this line to find the port when CHAT_LISTEN ends in `:0`.
            println!("chat-host listening on http://{}", app.local_addr());
            if let Some(grpc) = app.grpc_addr() {
                println!("chat-host gRPC listening on {grpc}");
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            chat_host::migrate(&config).await?;
            eprintln!("migrations applied");
        }
        Command::Check => {
            let report = chat_host::startup::check_integrity(&config).await?;
            for problem in &report.problems {
                println!("{problem:?}");
            }
            println!(
                "{} sides and {} conversations checked, {} problems",
                report.sides_checked,
                report.conversations_checked,
                report.problems.len()
            );
            if !report.is_ok() {
                bail!("the database has {} integrity problems", report.problems.len());
            }
        }
        Command::Token(args) => {
            let auth = JwtAuth::from_config(&config)?;
            let user = user_id_for(&args.user);
            let user_name = (user.to_string() != args.user.trim()).then(|| args.user.trim().to_owned());
            let token = auth.issue(&TokenRequest {
                user,
                tenant: args.tenant,
                user_name,
                name: args.name,
                admin: args.admin,
                ttl: Duration::from_secs(args.hours.saturating_mul(3600)),
            })?;
            eprintln!("user id: {user}");
            println!("{token}");
        }
    }
    Ok(())
}
