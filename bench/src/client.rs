//! One benchmark socket: a WebSocket-only Engine.IO v4 / Socket.IO v5 client with small buffers.
//!
//! [`connect`] performs the handshakes (WebSocket upgrade, Engine.IO open, Socket.IO connect with
//! `auth: { token }`, and optionally waits for the server's `ready` event). [`spawn_socket`] then hands the
//! socket to its own task, which answers pings, sends what the load generator schedules (each with an ack
//! id), and reports acknowledgements and marked deliveries to the shared [`Recorder`](crate::load::Recorder).
//!
//! A socket costs one task, one unbounded channel and a WebSocket with a 4 KiB read buffer; with 10,000
//! sockets the whole runner stayed around 150 MB resident, on one core.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

use crate::load::{SharedRecorder, lock, now_us, parse_conversation_seq, parse_marker};
use crate::protocol::{self, Packet};

/// A connected WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// How many sockets one source address carries before the next (`127.0.0.2`, …) is used: the ephemeral
/// port range holds about 28,000 ports per source address.
pub const SOCKETS_PER_SOURCE_ADDRESS: usize = 25_000;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The server.
    pub addr: SocketAddr,
    /// The local address to bind (`127.0.0.x` for very many sockets), or the system's choice.
    pub source: Option<Ipv4Addr>,
    /// Bearer token for `auth: { token }`.
    pub token: String,
    /// Wait for the server's `ready` event before returning.
    pub wait_ready: bool,
    /// Limit on the whole handshake.
    pub timeout: Duration,
}

/// The source address for socket number `index` when the server is on loopback: `127.0.0.1` for the first
/// [`SOCKETS_PER_SOURCE_ADDRESS`] sockets, then `127.0.0.2`, …
pub fn loopback_source(index: usize) -> Option<Ipv4Addr> {
    let k = index / SOCKETS_PER_SOURCE_ADDRESS;
    if k == 0 {
        return None;
    }
    u8::try_from(1 + k).ok().map(|last| Ipv4Addr::new(127, 0, 0, last))
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Opens one authenticated Socket.IO connection.
pub async fn connect(opts: &ConnectOptions) -> anyhow::Result<Ws> {
    tokio::time::timeout(opts.timeout, connect_inner(opts))
        .await
        .map_err(|_| anyhow!("handshake with {} timed out after {:?}", opts.addr, opts.timeout))?
}

async fn connect_inner(opts: &ConnectOptions) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = opts.source {
        socket.bind(SocketAddr::new(IpAddr::V4(ip), 0)).with_context(|| format!("binding {ip}"))?;
    }
    let stream = socket.connect(opts.addr).await.with_context(|| format!("connecting to {}", opts.addr))?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{}{}", opts.addr, protocol::WS_PATH);
    let (mut ws, _) = client_async_with_config(url, stream, Some(ws_config())).await.context("WebSocket upgrade")?;
    let mut opened = false;
    let mut connected = false;
    while let Some(frame) = ws.next().await {
        let text = match frame? {
            Message::Text(t) => t,
            Message::Close(c) => bail!("closed during the handshake: {c:?}"),
            _ => continue,
        };
        match protocol::decode(text.as_str()) {
            Packet::Open(_) if !opened => {
                opened = true;
                let frame = protocol::connect(&json!({ "token": opts.token }));
                ws.send(Message::Text(frame.into())).await?;
            }
            Packet::Ping => ws.send(Message::Text(protocol::PONG.into())).await?,
            Packet::Connected => {
                connected = true;
                if !opts.wait_ready {
                    return Ok(ws);
                }
            }
            Packet::ConnectError(e) => bail!("connect refused: {e}"),
            Packet::Event { payload, .. } if connected && protocol::event_name(payload) == Some("ready") => {
                return Ok(ws);
            }
            Packet::Disconnect => bail!("disconnected during the handshake"),
            _ => {}
        }
    }
    bail!("connection closed during the handshake")
}

/// What the load generator asks a socket to do.
#[derive(Debug)]
pub enum Command {
    /// Emit `body` (a JSON array `["event", data]`) with an ack id; the ack is reported to the recorder as
    /// message `msg`, scheduled at `sched_us`.
    Send {
        /// `["event", data]`.
        body: String,
        /// The message's index in the run.
        msg: u32,
        /// When it was scheduled ([`now_us`] clock).
        sched_us: u64,
    },
    /// Emit `body` with an ack id and hand the ack's JSON array back.
    Request {
        /// `["event", data]`.
        body: String,
        /// Receives the ack payload.
        reply: oneshot::Sender<String>,
    },
    /// Close the socket and end its task.
    Close,
}

/// A running socket: its user number and the channel to its task.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    /// The user this socket is authenticated as (an index into the run's users).
    pub user: u32,
    tx: mpsc::UnboundedSender<Command>,
}

impl SocketHandle {
    /// Queues a command; `false` when the socket's task has ended.
    pub fn command(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Emits an event and waits for its acknowledgement (setup calls like `group.join`).
    pub async fn request(&self, body: String, timeout: Duration) -> anyhow::Result<String> {
        let (reply, rx) = oneshot::channel();
        if !self.command(Command::Request { body, reply }) {
            bail!("socket of user {} is closed", self.user);
        }
        tokio::time::timeout(timeout, rx).await.map_err(|_| anyhow!("no ack within {timeout:?}"))?.map_err(Into::into)
    }
}

enum Pending {
    Measured { msg: u32, sched_us: u64 },
    Reply(oneshot::Sender<String>),
}

/// Hands a connected socket to its own task.
pub fn spawn_socket(ws: Ws, user: u32, recorder: SharedRecorder) -> SocketHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run_socket(ws, user, rx, recorder));
    SocketHandle { user, tx }
}

async fn run_socket(mut ws: Ws, user: u32, mut rx: mpsc::UnboundedReceiver<Command>, recorder: SharedRecorder) {
    let mut next_ack: u64 = 0;
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    // Whether the run closed the socket (a command); otherwise the server did, or the connection broke.
    let mut closed_by_run = false;
    loop {
        tokio::select! {
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                match protocol::decode(text.as_str()) {
                    Packet::Ping => {
                        let sent = ws.send(Message::Text(protocol::PONG.into())).await;
                        if sent.is_err() {
                            break;
                        }
                    }
                    Packet::Event { payload, ack } => {
                        if let Some(m) = parse_marker(payload) {
                            // A copy of one's own message (the sender's room) is not a delivery.
                            if m.sender != user {
                                let at = now_us();
                                let mut r = lock(&recorder);
                                r.on_delivery(m.msg, m.sched_us, at);
                                if let Some((conversation, seq)) = parse_conversation_seq(payload) {
                                    r.on_seq(user, conversation, seq);
                                }
                            }
                        }
                        if let Some(id) = ack {
                            let frame = protocol::ack(id, &json!({ "ok": true }));
                            if ws.send(Message::Text(frame.into())).await.is_err() {
                                break;
                            }
                        }
                    }
                    Packet::Ack { id, payload } => match pending.remove(&id) {
                        Some(Pending::Measured { msg, sched_us }) => {
                            let ok = payload.contains("\"ok\":true");
                            lock(&recorder).on_ack(msg, sched_us, now_us(), ok, payload);
                        }
                        Some(Pending::Reply(reply)) => {
                            let _ = reply.send(payload.to_owned());
                        }
                        None => {}
                    },
                    Packet::Disconnect => break,
                    _ => {}
                }
            }
            cmd = rx.recv() => {
                let (body, entry) = match cmd {
                    Some(Command::Send { body, msg, sched_us }) => (body, Pending::Measured { msg, sched_us }),
                    Some(Command::Request { body, reply }) => (body, Pending::Reply(reply)),
                    Some(Command::Close) | None => {
                        closed_by_run = true;
                        break;
                    }
                };
                next_ack += 1;
                pending.insert(next_ack, entry);
                if ws.send(Message::Text(format!("42{next_ack}{body}").into())).await.is_err() {
                    break;
                }
            }
        }
    }
    if !closed_by_run {
        lock(&recorder).on_server_disconnect();
    }
    let _ = ws.close(None).await;
}

/// Connects `tokens.len()` sockets, `concurrency` handshakes at a time, in order (socket `i` is user `i`).
/// Past [`SOCKETS_PER_SOURCE_ADDRESS`] sockets, further source addresses `127.0.0.2`, … are bound.
pub async fn connect_all(
    addr: SocketAddr,
    tokens: &[String],
    concurrency: usize,
    wait_ready: bool,
) -> anyhow::Result<Vec<Ws>> {
    let many = tokens.len() > SOCKETS_PER_SOURCE_ADDRESS && addr.ip().is_loopback();
    let results: Vec<anyhow::Result<Ws>> = futures_util::stream::iter(tokens.iter().enumerate())
        .map(|(i, token)| {
            let opts = ConnectOptions {
                addr,
                source: if many { loopback_source(i) } else { None },
                token: token.clone(),
                wait_ready,
                timeout: Duration::from_secs(30),
            };
            async move { connect(&opts).await.with_context(|| format!("socket {i}")) }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_change_every_so_many_sockets() {
        assert_eq!(loopback_source(0), None);
        assert_eq!(loopback_source(SOCKETS_PER_SOURCE_ADDRESS - 1), None);
        assert_eq!(loopback_source(SOCKETS_PER_SOURCE_ADDRESS), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(loopback_source(3 * SOCKETS_PER_SOURCE_ADDRESS), Some(Ipv4Addr::new(127, 0, 0, 4)));
    }
}
