//! The servers under test, as child processes on `127.0.0.1:0`.
//!
//! Each server prints a line containing `listening on http://ADDR` once bound; [`Server::start`] reads it to
//! learn the port. When `taskset` exists and the machine has two cores or more, servers run on core 0 and
//! the runner (with its load generator) on core 1, so the two do not steal each other's cycles.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerKind {
    /// The chat's own `chat-host` (SQLite, `strict` durability).
    Chat,
    /// The bare socketioxide relay (`bare-relay`): no domain, no storage.
    BareRelay,
    /// Node socket.io persisting to SQLite (`bench/node/server.js`).
    Node,
}

impl ServerKind {
    /// Every server the suite knows.
    pub const ALL: [ServerKind; 3] = [Self::Chat, Self::BareRelay, Self::Node];
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Chat => "chat-host",
            Self::BareRelay => "bare-relay",
            Self::Node => "node",
        })
    }
}

/// Where things are and how to pin.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The workspace root.
    pub root: PathBuf,
    /// Where `chat-host` and `bare-relay` were built (the runner's own directory).
    pub bin_dir: PathBuf,
    /// A scratch directory for databases and logs.
    pub work_dir: PathBuf,
    /// The HS256 secret every server checks tokens with.
    pub secret: String,
    /// The core servers are pinned to, when pinning is possible.
    pub server_core: Option<usize>,
}

impl Environment {
    /// The `chat-host` binary.
    pub fn chat_host(&self) -> PathBuf {
        self.bin_dir.join("chat-host")
    }

    /// The `bare-relay` binary.
    pub fn bare_relay(&self) -> PathBuf {
        self.bin_dir.join("bare-relay")
    }

    /// The Node baseline's folder.
    pub fn node_dir(&self) -> PathBuf {
        self.root.join("bench").join("node")
    }

    /// Whether the Node baseline can run (node present, dependencies installed).
    pub fn node_ready(&self) -> bool {
        self.node_dir().join("node_modules").join("better-sqlite3").exists()
    }
}

/// Memory of a process, from `/proc/<pid>/smaps_rollup`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Memory {
    /// Resident set, KiB.
    pub rss_kb: u64,
    /// Proportional set, KiB.
    pub pss_kb: u64,
}

/// Reads `Rss` and `Pss` of a process.
pub fn memory_of(pid: u32) -> anyhow::Result<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .with_context(|| format!("reading /proc/{pid}/smaps_rollup"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| anyhow!("no {name} in smaps_rollup"))
    };
    Ok(Memory { rss_kb: field("Rss:")?, pss_kb: field("Pss:")? })
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// Which one.
    pub kind: ServerKind,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id (the server itself: `taskset` execs it).
    pub pid: u32,
    child: Child,
}

fn pinned(program: &Path, core: Option<usize>) -> Command {
    match core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(program);
            c
        }
        None => Command::new(program),
    }
}

impl Server {
    /// Starts a server in its own scratch folder `work_dir/<name>` and waits until it listens.
    pub async fn start(kind: ServerKind, env: &Environment, name: &str) -> anyhow::Result<Self> {
        Self::start_with(kind, env, name, &[]).await
    }

    /// Like [`Server::start`], with further environment variables (set last, so they override the
    /// defaults above, e.g. `CHAT_DATABASE_URL` and `CHAT_BUS_URL` for a cluster node).
    pub async fn start_with(
        kind: ServerKind,
        env: &Environment,
        name: &str,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let dir = env.work_dir.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut cmd = match kind {
            ServerKind::Chat => {
                let bin = env.chat_host();
                if !bin.exists() {
                    bail!("{} is missing: build it with `cargo build --release -p chat-host`", bin.display());
                }
                let mut c = pinned(&bin, env.server_core);
                c.env("CHAT_LISTEN", "127.0.0.1:0")
                    .env("CHAT_DATABASE_URL", format!("sqlite://{}/chat.db?mode=rwc", dir.display()))
                    .env("CHAT_JWT_SECRET", &env.secret)
                    .env("CHAT_BLOB_DIR", dir.join("blobs"))
                    .env("CHAT_DURABILITY", "strict")
                    // `BENCH_CHAT_LOG` raises the server's log level for a look inside (its `stderr.log`).
                    .env("RUST_LOG", std::env::var("BENCH_CHAT_LOG").unwrap_or_else(|_| "warn".to_owned()));
                c
            }
            ServerKind::BareRelay => {
                let mut c = pinned(&env.bare_relay(), env.server_core);
                c.env("BENCH_JWT_SECRET", &env.secret).env("BENCH_LISTEN", "127.0.0.1:0");
                c
            }
            ServerKind::Node => {
                let mut c = pinned(Path::new("node"), env.server_core);
                c.arg(env.node_dir().join("server.js"))
                    .env("BENCH_JWT_SECRET", &env.secret)
                    .env("BENCH_DB", dir.join("node.db"))
                    .env("PORT", "0");
                c
            }
        };
        for (key, value) in extra_env {
            cmd.env(key, value);
        }
        let log = std::fs::File::create(dir.join("stderr.log"))?;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log)).kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("starting {kind}"))?;
        let pid = child.id().ok_or_else(|| anyhow!("{kind} exited at once"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    return rest.trim().parse::<SocketAddr>().with_context(|| format!("bad address line `{line}`"));
                }
            }
            bail!("{kind} exited before listening (see {})", dir.join("stderr.log").display())
        })
        .await
        .map_err(|_| anyhow!("{kind} did not print its address within 2 minutes"))??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { kind, addr, pid, child })
    }

    /// The server's memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        memory_of(self.pid)
    }

    /// The server's CPU time so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name (which may hold spaces) start at ") ".
        let rest = stat.rsplit_once(") ").map(|(_, r)| r).ok_or_else(|| anyhow!("bad stat"))?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(ticks as f64 / 100.0)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
