//! Logging setup: structured `tracing` logs on stderr, as text or JSON, filtered by `RUST_LOG`.
//!
//! Request spans carry the request id (`x-request-id`); no token, `Authorization` header or handshake `auth`
//! payload is ever logged.

use std::sync::Once;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "pretty" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format must be `text` or `json`, not `{other}`")),
        }
    }
}

/// Crates whose verbose logs may contain raw requests, frames or handshake payloads (and so tokens).
const TRANSPORT_CRATES: [&str; 7] =
    ["socketioxide", "engineioxide", "tungstenite", "tokio_tungstenite", "hyper", "hyper_util", "h2"];

const DEFAULT_FILTER: &str = "info,tower_http=info,socketioxide=warn,engineioxide=warn,sqlx=warn,sea_orm=warn";

/// Installs the global subscriber (once; later calls do nothing).
///
/// The transport crates log raw frames and handshake payloads at `debug`/`trace` (socketioxide even logs
/// the handshake `auth`), which would put tokens in the logs: their events above `info` are dropped whatever
/// `RUST_LOG` says.
pub fn init_tracing(format: LogFormat) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let no_secrets = transport_details_filter();
        let output = match format {
            LogFormat::Text => fmt::layer().with_writer(std::io::stderr).with_ansi(ansi).boxed(),
            LogFormat::Json => fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_span_events(FmtSpan::NONE)
                .with_current_span(true)
                .boxed(),
        };
        // Another subscriber is already installed (an embedding host's): keep theirs.
        let _ = tracing_subscriber::registry().with(filter).with(output.with_filter(no_secrets)).try_init();
    });
}

/// Drops the transport crates' events above `info` (raw frames, handshake payloads, so tokens), whatever
/// the level filter says. [`init_tracing`] puts it on its output; an embedding host that installs its own
/// subscriber should do the same.
pub fn transport_details_filter() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    filter_fn(|meta| {
        let transport = TRANSPORT_CRATES.iter().any(|c| meta.target().starts_with(c));
        !(transport && *meta.level() > Level::INFO)
    })
}

/// For tests: logs only when the `TEST_LOG` environment variable is set, so test output stays quiet.
pub fn init_test_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        init_tracing(LogFormat::Text);
    }
}
