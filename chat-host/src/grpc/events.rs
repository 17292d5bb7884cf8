//! `chat.EventService.Subscribe`: the caller's real-time events over a server stream.
//!
//! The order mirrors a Socket.IO connect with `afterEventSeq`: register for live events first (so that
//! nothing committed from then on is missed), replay the stored events after the position through the
//! application's catch-up service, announce `ready`, then forward live events. Stored events that the
//! replay already sent are skipped when they also arrive live, so the stream carries each `eventSeq` once.
//! Like a socket, an open stream counts for presence: `ready` lists the contacts online, and the
//! caller's contacts see them online while it lasts.

use chat_application::dto::{ReadyDto, SyncInput};
use chat_application::{CallerContext, ConnectionId};
use serde_json::json;
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::GrpcApi;
use super::caller::authenticate;
use super::proto::{self, event_service_server::EventService};
use super::status::{invalid_field, status_of};
use super::subscribers::{Ended, Refused, Subscription};
use crate::state::ChatState;

/// Events queued towards one client's HTTP/2 stream.
const STREAM_BUFFER: usize = 64;
/// Events read per catch-up page.
const REPLAY_PAGE: u32 = 100;

type EventSender = mpsc::Sender<Result<proto::Event, Status>>;

#[tonic::async_trait]
impl EventService for GrpcApi {
    type SubscribeStream = ReceiverStream<Result<proto::Event, Status>>;

    async fn subscribe(
        &self,
        request: Request<proto::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let (caller, input) = authenticate(&self.state, request).await?;
        let after = match input.after_event_seq {
            Some(seq) if seq < 0 => return Err(invalid_field("after_event_seq", "must not be negative")),
            other => other,
        };
        // Registered before anything is read, as a socket joins its room before replaying.
        // Streams are capped per user like sockets (`CHAT_MAX_SOCKETS_PER_USER`, counted apart).
        let max = self.state.limits().max_sockets_per_user;
        let live = self.subscribers.subscribe(caller.tenant, caller.user, max).map_err(|refused| match refused {
            Refused::ShuttingDown => Status::unavailable(refused.to_string()),
            Refused::TooMany(_) => Status::resource_exhausted(refused.to_string()),
        })?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(stream_events(self.state.clone(), caller, after, live, tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// The stored events the replay sent: those committed between the registration and the replay's read
/// arrive live too, and are skipped.
#[derive(Debug, Default, Clone, Copy)]
struct AlreadySent {
    through: Option<i64>,
}

impl AlreadySent {
    /// Whether a live event was already sent by the replay (ephemeral events never were).
    fn covers(&self, event: &proto::Event) -> bool {
        matches!((event.event_seq, self.through), (Some(seq), Some(through)) if seq <= through)
    }
}

/// What the replay achieved.
enum Replayed {
    /// Sent every stored event through this position.
    Through(i64),
    /// The position is no longer kept; `resync.required` was sent.
    Resync,
    /// The client went away.
    Gone,
}

async fn stream_events(
    state: ChatState,
    caller: CallerContext,
    after: Option<i64>,
    mut live: Subscription,
    tx: EventSender,
) {
    let mut replayed = AlreadySent::default();
    if let Some(after) = after {
        match replay(&state, &caller, after, &tx).await {
            Ok(Replayed::Through(seq)) => replayed = AlreadySent { through: Some(seq) },
            Ok(Replayed::Resync) => {}
            Ok(Replayed::Gone) => return,
            Err(status) => {
                let _ = tx.send(Err(status)).await;
                return;
            }
        }
    }
    let event_seq = match state.sync().get_position(&caller).await {
        Ok(position) => position.event_seq,
        Err(e) => {
            let _ = tx.send(Err(status_of(e))).await;
            return;
        }
    };
    // A stream is a real-time connection like a socket: it counts for presence from right before `ready`
    // (which lists the contacts online) until it ends, whichever way it ends.
    let presence = state.chat().presence();
    let connection = ConnectionId::new(format!("grpc:{}", Uuid::new_v4()));
    let online = match presence.connected(&caller, &connection).await {
        Ok(online) => online,
        Err(e) => {
            tracing::warn!(error = %e, "could not record a gRPC event stream for presence");
            Vec::new()
        }
    };
    let ready = json!(ReadyDto::new(&caller, event_seq, online));
    if tx.send(Ok(ephemeral("ready", &ready))).await.is_ok() {
        forward_live(&mut live, replayed, &tx).await;
    }
    drop(live);
    if let Err(e) = presence.disconnected(&caller, &connection).await {
        tracing::warn!(error = %e, "could not record a gRPC event stream's end for presence");
    }
}

/// Forwards live events until the client goes away or the subscription ends.
async fn forward_live(live: &mut Subscription, replayed: AlreadySent, tx: &EventSender) {
    loop {
        tokio::select! {
            event = live.recv() => match event {
                Ok(event) => {
                    if replayed.covers(&event) {
                        continue;
                    }
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                Err(ended) => {
                    let message = match ended {
                        Ended::FellBehind => {
                            "this subscriber fell too far behind; subscribe again with the last `event_seq` received"
                        }
                        Ended::ShuttingDown => {
                            "the server is shutting down; subscribe again with the last `event_seq` received"
                        }
                    };
                    let _ = tx.send(Err(Status::unavailable(message))).await;
                    return;
                }
            },
            () = tx.closed() => return,
        }
    }
}

/// Sends the caller's stored events after `after`, oldest first, page by page through the catch-up
/// service (the same envelopes as `sync` and the socket replay); `resync.required` when the position is
/// no longer kept.
async fn replay(
    state: &ChatState,
    caller: &CallerContext,
    mut after: i64,
    tx: &EventSender,
) -> Result<Replayed, Status> {
    loop {
        let input = SyncInput { after_event_seq: after, limit: Some(REPLAY_PAGE) };
        let page = state.sync().sync(caller, input).await.map_err(status_of)?;
        if page.resync_required {
            let resync = ephemeral("resync.required", &json!({ "eventSeq": page.event_seq }));
            return Ok(if tx.send(Ok(resync)).await.is_err() { Replayed::Gone } else { Replayed::Resync });
        }
        for envelope in page.events.iter() {
            if let Some(seq) = envelope.event_seq {
                after = after.max(seq);
            }
            let event = proto::Event {
                event_seq: envelope.event_seq,
                r#type: envelope.kind.clone(),
                data_json: envelope.data.to_string(),
            };
            if tx.send(Ok(event)).await.is_err() {
                return Ok(Replayed::Gone);
            }
        }
        if !page.has_more || page.events.is_empty() {
            return Ok(Replayed::Through(after));
        }
    }
}

/// An event of the stream itself (`ready`, `resync.required`): no `eventSeq`.
fn ephemeral(kind: &str, data: &serde_json::Value) -> proto::Event {
    proto::Event { event_seq: None, r#type: kind.to_owned(), data_json: data.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: Option<i64>) -> proto::Event {
        proto::Event { event_seq: seq, r#type: "message.created".into(), data_json: "{}".into() }
    }

    #[test]
    fn live_events_the_replay_sent_are_skipped_and_newer_or_ephemeral_ones_are_not() {
        let replayed = AlreadySent { through: Some(5) };
        assert!(replayed.covers(&event(Some(4))));
        assert!(replayed.covers(&event(Some(5))));
        assert!(!replayed.covers(&event(Some(6))));
        assert!(!replayed.covers(&event(None)));
        assert!(!AlreadySent::default().covers(&event(Some(1))));
    }
}
