//! Client events (SPEC §6), each answered through the acknowledgement with `{ ok: true, data }` or
//! `{ ok: false, error: { code, message } }` using the same codes as the REST API.

use std::future::Future;

use chat_application::dto::{MarkDeliveredInput, MarkReadInput, SendMessageInput, SyncInput, TypingInput};
use chat_application::{AppError, CallerContext, FieldError};
use chat_domain::ConversationId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use uuid::Uuid;

use crate::http::extract::parse_json_value;
use crate::http::problem::{Problem, problem_of};
use crate::state::ChatState;

/// A successful acknowledgement.
#[derive(Debug, Clone, Serialize)]
pub struct AckReply<T: Serialize> {
    /// Always `true`.
    pub ok: bool,
    /// The result.
    pub data: T,
}

/// A failed acknowledgement: `{ ok: false, error }`.
#[derive(Debug, Clone, Serialize)]
pub struct AckFailure {
    /// Always `false`.
    pub ok: bool,
    /// What went wrong.
    pub error: AckError,
}

/// The error of a failed acknowledgement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AckError {
    /// The same stable code as the REST API (`chat.validation`, `chat.rate_limited`, …).
    pub code: String,
    /// For people.
    pub message: String,
    /// For `chat.rate_limited`: how long to wait, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `chat.validation`: the bad fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl From<Problem> for AckError {
    fn from(p: Problem) -> Self {
        Self { code: p.code.to_owned(), message: p.detail, retry_after_ms: p.retry_after_ms, errors: p.errors }
    }
}

/// `conversation.read`'s payload.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationReadInput {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Read up to and including this message; absent reads everything.
    #[serde(default)]
    pub up_to_message_id: Option<Uuid>,
}

/// Decodes a client event's payload (as socketioxide hands it over) into the event's input, exactly as
/// the REST API decodes a JSON body: a payload of the wrong shape is `chat.validation` naming the field.
pub fn decode_payload<I: DeserializeOwned>(data: &Value) -> Result<I, Problem> {
    parse_json_value::<I>(data)
}

/// Declares [`ClientEvent`] from one list of `Variant => "wire.name"`, so that the enum, its
/// [`ALL`](ClientEvent::ALL) list and its names cannot disagree: a new event is one more line here.
macro_rules! client_events {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// The client -> server events of SPEC §6, one variant per handler. [`register`] installs exactly
        /// the handlers of [`ClientEvent::ALL`], so the public [`CLIENT_EVENTS`] list cannot drift from the
        /// handlers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum ClientEvent {
            $($variant),+
        }

        impl ClientEvent {
            /// Every event, in the order of [`CLIENT_EVENTS`].
            const ALL: [ClientEvent; [$($name),+].len()] = [$(Self::$variant),+];

            /// The event's name on the wire.
            const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }
    };
}

client_events! {
    MessageSend => "message.send",
    ConversationRead => "conversation.read",
    Typing => "typing",
    MessageDelivered => "message.delivered",
    Sync => "sync",
}

/// The names of every client -> server event the server handles (anything else is answered
/// `chat.unknown_event`). Tests iterate it to cover every event.
pub const CLIENT_EVENTS: [&str; ClientEvent::ALL.len()] = {
    let mut names = [""; ClientEvent::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = ClientEvent::ALL[i].name();
        i += 1;
    }
    names
};

/// Registers every client event on a freshly connected socket (synchronously, before anything awaits).
pub(crate) fn register(s: &SocketRef, state: &ChatState, caller: &CallerContext) {
    for event in ClientEvent::ALL {
        let name = event.name();
        match event {
            ClientEvent::MessageSend => {
                on(s, state, caller, name, |state, caller, input: SendMessageInput| async move {
                    let message = state.conversations().send_message(&caller, input).await?;
                    state.metrics().message_sent();
                    Ok(message)
                })
            }
            ClientEvent::ConversationRead => {
                on(s, state, caller, name, |state, caller, input: ConversationReadInput| async move {
                    let id = ConversationId::from_uuid(input.conversation_id);
                    state
                        .conversations()
                        .mark_read(&caller, id, MarkReadInput { up_to_message_id: input.up_to_message_id })
                        .await?;
                    Ok(())
                })
            }
            ClientEvent::Typing => on(s, state, caller, name, |state, caller, input: TypingInput| async move {
                state.conversations().typing(&caller, input).await?;
                Ok(())
            }),
            ClientEvent::MessageDelivered => {
                on(s, state, caller, name, |state, caller, input: MarkDeliveredInput| async move {
                    state.conversations().mark_delivered(&caller, input).await?;
                    Ok(())
                })
            }
            ClientEvent::Sync => on(s, state, caller, name, |state, caller, input: SyncInput| async move {
                let result = state.sync().sync(&caller, input).await?;
                Ok(result)
            }),
        }
    }

    let fallback_state = state.clone();
    s.on_fallback(move |Event(event): Event, ack: AckSender| {
        let state = fallback_state.clone();
        async move {
            state.metrics().socket_event("unknown", false);
            let problem = Problem::new(
                axum::http::StatusCode::NOT_FOUND,
                "chat.unknown_event",
                format!("unknown event `{}`", truncate(&event, 64)),
            );
            send_failure(ack, problem.into());
        }
    });
}

/// Registers one client event: parses its payload into `I`, runs `run`, acknowledges the outcome. A
/// malformed payload is acknowledged as `chat.validation` (or `chat.bad_request`) and never reaches `run`.
fn on<I, O, F, Fut>(s: &SocketRef, state: &ChatState, caller: &CallerContext, name: &'static str, run: F)
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize,
    F: Fn(ChatState, CallerContext, I) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<O, AppError>> + Send + 'static,
{
    let state = state.clone();
    let caller = caller.clone();
    s.on(name, move |TryData(data): TryData<Value>, ack: AckSender| {
        let state = state.clone();
        let caller = caller.clone();
        let run = run.clone();
        async move {
            let decoded = data
                .map_err(|_| Problem::bad_request("the payload is not valid JSON"))
                .and_then(|v| decode_payload::<I>(&v));
            let input: I = match decoded {
                Ok(input) => input,
                Err(problem) => {
                    state.metrics().socket_event(name, false);
                    send_failure(ack, problem.into());
                    return;
                }
            };
            match run(state.clone(), caller, input).await.map(|data| serde_json::to_value(data)) {
                Ok(Ok(data)) => {
                    state.metrics().socket_event(name, true);
                    if let Err(e) = ack.send(&AckReply { ok: true, data }) {
                        tracing::debug!(event = name, error = %e, "acknowledgement not sent");
                    }
                }
                Ok(Err(e)) => {
                    state.metrics().socket_event(name, false);
                    state.metrics().error();
                    tracing::error!(event = name, error = %e, "the answer of a socket event could not be serialised");
                    send_failure(ack, Problem::internal().into());
                }
                Err(error) => {
                    state.metrics().socket_event(name, false);
                    if let AppError::Internal { source } = &error {
                        state.metrics().error();
                        tracing::error!(event = name, error = %source, details = ?source, "socket event failed with an internal error");
                    }
                    send_failure(ack, problem_of(&error).into());
                }
            }
        }
    });
}

fn send_failure(ack: AckSender, error: AckError) {
    if let Err(e) = ack.send(&AckFailure { ok: false, error }) {
        tracing::debug!(error = %e, "error acknowledgement not sent");
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
