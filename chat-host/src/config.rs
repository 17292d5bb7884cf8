//! The reference server's configuration, already parsed.
//!
//! `main.rs` fills it from the command line and the `CHAT_*` environment variables (SPEC §4); tests and
//! embedders build it in code. Nothing here reads the environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use chat_application::{DEFAULT_TENANT_SETTINGS_TTL, RateLimit, RateLimitOptions};
pub use chat_infrastructure::persistence::{DatabaseConfig, Durability, SqliteWriter};
pub use chat_infrastructure::realtime::OutboxRelayOptions;

/// Whether a database URL selects the in-memory store (`memory:`): nothing survives a restart; for tests
/// and demos.
pub fn is_memory_url(url: &str) -> bool {
    url.starts_with("memory:")
}

/// The SQLite database file a URL names, if any (not `:memory:`).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// A URL with any `user:password@` part replaced, safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***@{}", &url[..scheme_end], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// How tokens are checked.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum JwtKeyConfig {
    /// Neither a secret nor a public key: development mode, with a generated secret kept in a file.
    #[default]
    Development,
    /// HS256 with a shared secret.
    Secret(String),
    /// RS256 or ES256 with a public key (PEM text).
    PublicKeyPem(String),
}

impl fmt::Debug for JwtKeyConfig {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Development => "Development",
            Self::Secret(_) => "Secret(***)",
            Self::PublicKeyPem(_) => "PublicKeyPem(..)",
        })
    }
}

/// Which browser origins may open sockets and call the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowedOrigins {
    /// Only the server's own origin: a browser `Origin` header must match the `Host` header.
    #[default]
    SameOrigin,
    /// These origins (`scheme://host[:port]`, compared without a trailing slash), plus the server's own.
    List(Vec<String>),
    /// Any origin (`*`): for development only.
    Any,
}

impl AllowedOrigins {
    /// Parses the comma-separated `CHAT_ALLOWED_ORIGINS` value; empty means same origin only.
    pub fn parse(value: &str) -> Self {
        let items: Vec<String> = value
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if items.iter().any(|s| s == "*") {
            Self::Any
        } else if items.is_empty() {
            Self::SameOrigin
        } else {
            Self::List(items)
        }
    }
}

/// Limits the host enforces itself (the application enforces the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLimits {
    /// Largest JSON request body, in bytes (SPEC §7: 64 KiB).
    pub max_body_bytes: usize,
    /// Largest Socket.IO payload, in bytes (SPEC §7: 64 KiB).
    pub max_socket_payload_bytes: u64,
    /// Most sockets one user may hold open on this node (SPEC §7: 30).
    pub max_sockets_per_user: usize,
    /// Packets queued per socket before its client reads them. A replay waits for room; a live stored event
    /// that finds the buffer full disconnects the socket, whose client then catches up from the stream.
    pub socket_buffer_packets: usize,
}

/// The default of [`HostLimits::socket_buffer_packets`]: room for ten replay pages. The buffer grows only
/// as packets wait, so an idle socket does not pay for it.
pub const DEFAULT_SOCKET_BUFFER_PACKETS: usize = 1024;

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_socket_payload_bytes: 64 * 1024,
            max_sockets_per_user: 30,
            socket_buffer_packets: DEFAULT_SOCKET_BUFFER_PACKETS,
        }
    }
}

/// The default of [`Config::write_queue_limit`]: far above a healthy queue's wait (milliseconds), low
/// enough that an accepted send is answered long before clients' usual acknowledgement timeouts.
pub const DEFAULT_WRITE_QUEUE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long events are kept for catch-up unless configured otherwise: a week.
pub const DEFAULT_EVENT_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Everything [`Application::build`](crate::Application::build) needs.
#[derive(Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Address of the gRPC server (`CHAT_GRPC_LISTEN`); `None` = no gRPC; port 0 picks a free port.
    pub grpc_listen: Option<SocketAddr>,
    /// The store.
    pub database: DatabaseConfig,
    /// Broker that carries real-time events between nodes; `None` = in-process (single node).
    pub bus_url: Option<String>,
    /// Token keys.
    pub jwt: JwtKeyConfig,
    /// The `iss` claim every token must carry (`CHAT_JWT_ISSUER`); `None` = not checked.
    pub jwt_issuer: Option<String>,
    /// An audience every token's `aud` claim must contain (`CHAT_JWT_AUDIENCE`); `None` = not checked.
    pub jwt_audience: Option<String>,
    /// Where development mode keeps its generated secret; `None` = next to the database (see
    /// [`Config::dev_secret_path`]).
    pub dev_secret_file: Option<PathBuf>,
    /// Where uploaded attachments are stored.
    pub blob_dir: PathBuf,
    /// Browser origins allowed to open sockets and call the API.
    pub allowed_origins: AllowedOrigins,
    /// Host-level limits.
    pub limits: HostLimits,
    /// Per-user rate limits (SPEC §7), enforced by the application for every transport.
    pub rate_limits: RateLimitOptions,
    /// How long a graceful shutdown waits for in-flight requests before giving up.
    pub shutdown_grace: std::time::Duration,
    /// Cluster mode on PostgreSQL: how the outbox relay paces itself (`CHAT_OUTBOX_*`).
    pub outbox_relay: OutboxRelayOptions,
    /// How long stored events are kept for catch-up (`sync`, `auth.afterEventSeq`); older ones are pruned
    /// while the server runs, and a client behind them is told to resync. `None` keeps them for ever.
    pub event_retention: Option<std::time::Duration>,
    /// How long a tenant's settings are reused before they are read again (`CHAT_TENANT_SETTINGS_TTL_MS`):
    /// the time other nodes take to see a change.
    pub tenant_settings_ttl: std::time::Duration,
    /// Admission control (`CHAT_WRITE_QUEUE_LIMIT_MS`): while the store's group-commit queue makes writes
    /// wait longer than this, new writes are refused with `chat.overloaded` (503, `Retry-After`) instead of
    /// queueing behind them. `None` queues every write.
    pub write_queue_limit: Option<std::time::Duration>,
}

impl fmt::Debug for Config {
    // The database URL may carry a password and the key material is secret: print neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("grpc_listen", &self.grpc_listen)
            .field("database_url", &redact_url(&self.database.url))
            .field("durability", &self.database.durability)
            .field("bus_url", &self.bus_url.as_deref().map(redact_url))
            .field("jwt", &self.jwt)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("blob_dir", &self.blob_dir)
            .field("allowed_origins", &self.allowed_origins)
            .field("limits", &self.limits)
            .field("rate_limits", &self.rate_limits)
            .field("outbox_relay", &self.outbox_relay)
            .field("tenant_settings_ttl", &self.tenant_settings_ttl)
            .field("write_queue_limit", &self.write_queue_limit)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    /// The defaults of SPEC §4: `127.0.0.1:8080`, `sqlite://chat.db?mode=rwc`, development mode.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_listen: None,
            database: DatabaseConfig::new("sqlite://chat.db?mode=rwc"),
            bus_url: None,
            jwt: JwtKeyConfig::Development,
            jwt_issuer: None,
            jwt_audience: None,
            dev_secret_file: None,
            blob_dir: PathBuf::from("chat-data/blobs"),
            allowed_origins: AllowedOrigins::SameOrigin,
            limits: HostLimits::default(),
            rate_limits: RateLimitOptions::default(),
            shutdown_grace: std::time::Duration::from_secs(30),
            outbox_relay: OutboxRelayOptions::default(),
            event_retention: Some(DEFAULT_EVENT_RETENTION),
            tenant_settings_ttl: DEFAULT_TENANT_SETTINGS_TTL,
            write_queue_limit: Some(DEFAULT_WRITE_QUEUE_LIMIT),
        }
    }
}

impl Config {
    /// Where development mode keeps its secret: the configured file, else beside the SQLite database file
    /// (`chat.db` -> `chat.db.dev-secret`), else in the parent of the blob directory (`chat-data/`).
    pub fn dev_secret_path(&self) -> PathBuf {
        if let Some(path) = &self.dev_secret_file {
            return path.clone();
        }
        if let Some(db) = sqlite_file(&self.database.url) {
            let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "chat.db".into());
            name.push(".dev-secret");
            return db.with_file_name(name);
        }
        let base = self.blob_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        base.join("dev-secret")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_is_found_in_the_default_url() {
        assert_eq!(sqlite_file("sqlite://chat.db?mode=rwc"), Some(PathBuf::from("chat.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert!(is_memory_url("memory:"));
    }

    #[test]
    fn dev_secret_lives_next_to_the_database() {
        let c = Config::default();
        assert_eq!(c.dev_secret_path(), PathBuf::from("chat.db.dev-secret"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:p@h:5432/db"), "postgres://***@h:5432/db");
        assert_eq!(redact_url("sqlite://chat.db"), "sqlite://chat.db");
    }

    #[test]
    fn origins_are_parsed() {
        assert_eq!(AllowedOrigins::parse(""), AllowedOrigins::SameOrigin);
        assert_eq!(AllowedOrigins::parse("*"), AllowedOrigins::Any);
        assert_eq!(
            AllowedOrigins::parse("https://a.example/, http://b:3000"),
            AllowedOrigins::List(vec!["https://a.example".into(), "http://b:3000".into()])
        );
    }
}
