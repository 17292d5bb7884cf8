//! Presence trackers shared by the nodes of a cluster.
//!
//! The single-node tracker lives in `chat-application` ([`chat_application::InMemoryPresenceTracker`]);
//! a cluster needs every node to see every node's sockets, which [`RedisPresenceTracker`] provides. It
//! plugs in through [`ChatModuleBuilder::presence_tracker`](chat_application::ChatModuleBuilder::presence_tracker).
//! [`for_bus`] picks the tracker that goes with a `CHAT_BUS_URL`; [`PresenceSweeper`] runs the periodic sweep
//! that announces users whose node died as offline.

mod redis;
mod sweeper;

use std::sync::Arc;

use chat_application::PresenceTracker;

use crate::bus::{BusConfig, BusError};

pub use self::redis::{RedisPresenceOptions, RedisPresenceTracker};
pub use self::sweeper::PresenceSweeper;

/// The shared tracker for a bus configuration: a [`RedisPresenceTracker`] on the bus's Redis server and
/// under its prefix in cluster mode, `None` for one process (the module's in-memory default is right
/// there). Must be called from within a Tokio runtime (the tracker starts its refresh task).
pub fn for_bus(config: &BusConfig) -> Result<Option<Arc<dyn PresenceTracker>>, BusError> {
    match config {
        BusConfig::InProcess => Ok(None),
        BusConfig::Redis { url, prefix } => {
            let options = RedisPresenceOptions { prefix: prefix.clone(), ..RedisPresenceOptions::default() };
            let tracker = RedisPresenceTracker::open(url, options)
                .map_err(|error| BusError::Unavailable(format!("presence tracker: {error}")))?;
            Ok(Some(Arc::new(tracker)))
        }
    }
}
