//! The chat's benchmark programs (SPEC §8).
//!
//! - [`protocol`]: the few Engine.IO v4 / Socket.IO v5 packets a client needs, encoded and decoded by hand;
//! - [`client`]: one benchmark socket (WebSocket transport only, small buffers, one task per socket);
//! - [`load`]: an open-loop load generator: messages are *scheduled* at a fixed rate and latency is measured
//!   from the scheduled time, so a slow server cannot slow the offered load down (no coordinated omission);
//! - [`stats`]: HDR histograms and the summaries the runner prints;
//! - [`servers`]: the servers under test as child processes (the chat host, the bare relay, the Node
//!   baseline), pinned to their own core;
//! - [`token`]: HS256 tokens for the benchmark's users;
//! - [`scenarios`]: the benchmarks B1-B7.
//!
//! The `bench` binary runs the suite (`cargo run --release -p bench -- --quick`); `bare-relay` is the bare
//! socketioxide baseline it starts; `bench/node/` holds the Node baseline and the `socket.io-client`
//! cross-check of the load generator.

pub mod client;
pub mod load;
pub mod protocol;
pub mod scenarios;
pub mod servers;
pub mod stats;
pub mod token;
