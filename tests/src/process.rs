//! The chat server as a child process, for tests that kill it (`SIGKILL`), stop it (`SIGTERM`) and restart
//! it on the same database and port.
//!
//! The child is the `chat-host` binary named by `CHAT_HOST_BIN` (e.g. `target/debug/chat-host`) when that
//! is set; otherwise the test executable itself, re-run as a server through its [`SERVER_TEST`] entry
//! ([`serve_from_env`]), which builds and runs `chat_host::Application` from the same `CHAT_*` variables
//! and signal handling as `main` does. The default needs no second build: building the binary from a test
//! would compile the stack again with another feature set.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use chat_host::config::{Config, DatabaseConfig, Durability, JwtKeyConfig};
use tokio::sync::oneshot;

use crate::TEST_SECRET;

/// How long a start may take (migrations included) before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The variable that makes [`serve_from_env`] serve (set only on the child).
const SERVE_VAR: &str = "CHAT_TESTS_SERVE";

/// The full name of the test, in each test binary that starts servers, that calls [`serve_from_env`].
pub const SERVER_TEST: &str = "server_process";

/// The line the server prints once it listens (as `chat-host` does).
const LISTENING: &str = "chat-host listening on ";

/// Runs a chat server configured from `CHAT_LISTEN`, `CHAT_DATABASE_URL`, `CHAT_DURABILITY`,
/// `CHAT_JWT_SECRET` and `CHAT_BLOB_DIR` until SIGTERM, as `chat-host` does, when this process was started
/// by [`ServerProcess::start`]; returns at once otherwise. Call it from a `#[test] #[ignore]` function
/// named [`SERVER_TEST`].
pub fn serve_from_env() {
    if std::env::var_os(SERVE_VAR).is_none() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let config = Config {
        listen: var("CHAT_LISTEN").parse().expect("CHAT_LISTEN"),
        database: DatabaseConfig {
            durability: var("CHAT_DURABILITY").parse::<Durability>().expect("CHAT_DURABILITY"),
            ..DatabaseConfig::new(var("CHAT_DATABASE_URL"))
        },
        jwt: JwtKeyConfig::Secret(var("CHAT_JWT_SECRET")),
        blob_dir: PathBuf::from(var("CHAT_BLOB_DIR")),
        dev_secret_file: Some(PathBuf::from(var("CHAT_BLOB_DIR")).join("dev-secret")),
        ..Config::default()
    };
    chat_host::telemetry::init_tracing(chat_host::telemetry::LogFormat::Text);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async move {
        let app = chat_host::Application::build(config).await.expect("the server starts");
        println!("{LISTENING}http://{}", app.local_addr());
        app.run_until_stopped().await.expect("the server runs");
    });
}

/// The command that starts a server: `CHAT_HOST_BIN`, or this test executable's [`SERVER_TEST`].
fn server_command() -> Command {
    match std::env::var_os("CHAT_HOST_BIN").filter(|b| !b.is_empty()) {
        Some(binary) => Command::new(binary),
        None => {
            let mut command = Command::new(std::env::current_exe().expect("the test executable's path"));
            command.args([SERVER_TEST, "--exact", "--ignored", "--nocapture", "--test-threads=1"]).env(SERVE_VAR, "1");
            command
        }
    }
}

/// A running `chat-host` process.
pub struct ServerProcess {
    pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port (kept across restarts so clients reconnect to the same address).
    pub port: u16,
    exited: Option<oneshot::Receiver<std::io::Result<ExitStatus>>>,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the server with the test secret, `database_url` (strict durability) and its files in `dir`,
    /// listening on `port` (0 = a free one), and waits for the line saying where it listens. The server's
    /// log goes to `dir/server-N.log`.
    pub async fn start(dir: &Path, database_url: &str, port: u16) -> ServerProcess {
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let log = dir.join(format!("server-{n}.log"));
        let stderr = std::fs::File::create(&log).expect("creating the server log");
        let mut child = server_command()
            .env_remove("CHAT_BUS_URL")
            .env_remove("CHAT_JWT_PUBLIC_KEY")
            .env_remove("CHAT_DATABASE_MAX_CONNECTIONS")
            .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
            .env("CHAT_DATABASE_URL", database_url)
            .env("CHAT_DURABILITY", "strict")
            .env("CHAT_JWT_SECRET", TEST_SECRET)
            .env("CHAT_BLOB_DIR", dir.join("blobs"))
            .env("CHAT_LOG_FORMAT", "text")
            .env("RUST_LOG", std::env::var("TEST_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting chat-host");
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped stdout");
        let (addr_tx, addr_rx) = oneshot::channel::<String>();
        let (exit_tx, exit_rx) = oneshot::channel();
        // Reads stdout until the listening line, then waits for the process (a thread: the workspace's
        // tokio has no `process` feature, and adding it would rebuild every crate).
        std::thread::spawn(move || {
            let mut addr_tx = Some(addr_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // (The test harness may print the test's name on the same line first.)
                if let Some(at) = line.find(LISTENING)
                    && let Some(tx) = addr_tx.take()
                {
                    let _ = tx.send(line[at + LISTENING.len()..].trim().to_owned());
                }
            }
            let _ = exit_tx.send(child.wait());
        });
        let base = match tokio::time::timeout(START_TIMEOUT, addr_rx).await {
            Ok(Ok(base)) => base,
            _ => {
                // Never leave a half-started server behind.
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
                panic!("chat-host did not start; its log:\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            }
        };
        let port = base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port in the listening line");
        ServerProcess { pid, base, port, exited: Some(exit_rx), log }
    }

    /// Sends a signal (`KILL`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").arg(format!("-{signal}")).arg(self.pid.to_string()).status().expect("running kill");
        assert!(status.success(), "kill -{signal} {} failed", self.pid);
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let rx = self.exited.as_mut()?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(status))) => {
                self.exited = None;
                Some(status)
            }
            Ok(_) => {
                self.exited = None;
                None
            }
            Err(_) => None,
        }
    }

    /// `SIGKILL`, then waits for the process to be gone.
    pub async fn kill(mut self) {
        self.signal("KILL");
        assert!(self.wait_exit(Duration::from_secs(10)).await.is_some(), "chat-host survived SIGKILL");
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Never leave a server behind a failed test.
        if let Some(rx) = self.exited.as_mut()
            && matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty))
        {
            let _ = Command::new("kill").arg("-KILL").arg(self.pid.to_string()).status();
        }
    }
}
