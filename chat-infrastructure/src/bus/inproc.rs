//! The in-process bus: channels inside one process (a single node, or several nodes embedded in one
//! process, as the tests do).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::broadcast;
use tokio::sync::mpsc;

use super::{BusError, BusSubscription, DistributedEventBus};

/// One channel: every subscriber gets each payload (shared, copied once per subscriber).
type Channel = broadcast::Sender<Arc<Vec<u8>>>;

/// How many payloads a slow subscriber may fall behind before it loses some (it logs how many).
const CAPACITY: usize = 4096;

/// A bus whose channels live in this process. Never unavailable; a subscriber that falls more than a few
/// thousand payloads behind loses the oldest ones, like a subscriber of a real broker that is cut off.
#[derive(Debug, Clone, Default)]
pub struct InProcessEventBus {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl InProcessEventBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    fn channel(&self, name: &str) -> Channel {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.entry(name.to_owned()).or_insert_with(|| broadcast::channel(CAPACITY).0).clone()
    }
}

#[async_trait]
impl DistributedEventBus for InProcessEventBus {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BusError> {
        // No subscriber is not an error: nobody is listening on that channel.
        let _ = self.channel(channel).send(Arc::new(payload));
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<BusSubscription, BusError> {
        let mut source = self.channel(channel).subscribe();
        let (tx, rx) = mpsc::channel(CAPACITY);
        let name = channel.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let payload = match source.recv().await {
                    Ok(payload) => payload,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(channel = %name, missed, "event bus subscriber fell behind; payloads lost");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if tx.send(payload.as_ref().clone()).await.is_err() {
                    return;
                }
            }
        });
        Ok(BusSubscription::new(rx, Some(task)))
    }

    async fn check(&self) -> Result<(), BusError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "inproc"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_subscriber_gets_each_payload_in_order() {
        let bus = InProcessEventBus::new();
        let mut a = bus.subscribe("c").await.ok();
        let mut b = bus.subscribe("c").await.ok();
        let mut other = bus.subscribe("d").await.ok();
        for i in 0..3u8 {
            assert!(bus.publish("c", vec![i]).await.is_ok());
        }
        for sub in [&mut a, &mut b] {
            let Some(sub) = sub.as_mut() else { panic!("subscribe failed") };
            for i in 0..3u8 {
                let got = tokio::time::timeout(Duration::from_secs(1), sub.next()).await.ok().flatten();
                assert_eq!(got, Some(vec![i]));
            }
        }
        let Some(other) = other.as_mut() else { panic!("subscribe failed") };
        assert!(tokio::time::timeout(Duration::from_millis(50), other.next()).await.is_err());
    }
}
