//! Bad input on every client event, generated from the host's event list (`CLIENT_EVENTS`): malformed
//! payloads and wrong types are acknowledged as `chat.validation` / `chat.bad_request`; odd but
//! well-formed values (NUL bytes, huge texts, extreme numbers) get some acknowledgement, never silence;
//! the socket keeps working and the server counts no internal error.

use std::collections::BTreeSet;

use chat_tests::{TestUser, spawn_app};
use rust_socketio::Payload;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Clone, Copy)]
enum Field {
    Uuid,
    Text,
    Bool,
    Int,
    Uuids,
}

/// The payload fields of each client event (SPEC §6, docs/events.md).
const EVENT_FIELDS: &[(&str, &[(&str, Field)])] = &[
    (
        "message.send",
        &[
            ("targetUserId", Field::Uuid),
            ("conversationId", Field::Uuid),
            ("text", Field::Text),
            ("replyToId", Field::Uuid),
            ("clientMessageId", Field::Text),
            ("attachmentIds", Field::Uuids),
        ],
    ),
    ("conversation.read", &[("conversationId", Field::Uuid), ("upToMessageId", Field::Uuid)]),
    ("typing", &[("conversationId", Field::Uuid), ("isTyping", Field::Bool)]),
    ("message.delivered", &[("messageIds", Field::Uuids)]),
    ("sync", &[("afterEventSeq", Field::Int), ("limit", Field::Int)]),
];

fn wrong_values(field: Field) -> Vec<Value> {
    match field {
        Field::Uuid => {
            vec![json!("nope"), json!(5), json!([]), json!({}), json!("00000000-0000-0000-0000-00000000000g")]
        }
        Field::Text => vec![json!(5), json!(["a"]), json!({ "a": 1 }), json!(true)],
        Field::Bool => vec![json!("yes"), json!(1), json!([])],
        Field::Int => {
            vec![json!("abc"), json!(1.5), json!(1e300), json!("1"), json!([1]), json!(99_999_999_999_999_999_999.0)]
        }
        Field::Uuids => vec![json!("x"), json!([1]), json!(["nope"]), json!({})],
    }
}

/// Well-formed but odd values: each must get an acknowledgement, whatever it says.
fn odd_values(field: Field) -> Vec<Value> {
    match field {
        Field::Uuid => vec![json!(Uuid::nil()), json!(Uuid::max())],
        Field::Text => vec![
            json!("a\u{0}b"),
            json!("\u{202e}\u{7}\u{1b}[31m\r\n"),
            json!("x".repeat(5000)),
            json!("😀".repeat(4001)),
            json!(""),
            json!("   "),
        ],
        Field::Bool => vec![json!(false)],
        Field::Int => vec![
            json!(-1),
            json!(0),
            json!(101),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(4_294_967_296u64),
        ],
        Field::Uuids => vec![
            json!([]),
            json!((0..101).map(|_| Uuid::new_v4()).collect::<Vec<_>>()),
            json!([Uuid::nil(), Uuid::nil()]),
        ],
    }
}

/// A valid payload for `event`: the wrong-type cases replace one field of it, so that the only thing wrong
/// with them is that field; the lenient cases put an odd value in one field of it.
fn valid_base(event: &str, conversation: &str, delivered: &str) -> Value {
    let mut base = json!({ "conversationId": conversation, "text": "x", "isTyping": false });
    if event == "message.delivered" {
        base["messageIds"] = json!([delivered]);
    }
    base
}

/// Whether a field error's `field` (a path such as `messageIds[0]`) names the field `name`.
fn names_field(path: &str, name: &str) -> bool {
    path.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with('[') || rest.starts_with('.'))
}

#[tokio::test]
async fn every_client_event_refuses_malformed_payloads_and_survives_odd_ones() {
    let events: BTreeSet<String> = chat_host::socket::CLIENT_EVENTS.iter().map(|e| (*e).to_owned()).collect();
    let covered: BTreeSet<String> = EVENT_FIELDS.iter().map(|(e, _)| (*e).to_owned()).collect();
    assert_eq!(covered, events, "every client event needs its payload fields listed here");

    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let message = app.send_to(&alice, &bob, "hello").await;
    let conversation = message["conversationId"].as_str().unwrap().to_owned();
    let reply = app.send_to(&bob, &alice, "hi").await;
    let delivered = reply["id"].as_str().unwrap().to_owned();
    let socket = app.socket(&alice).await;
    let mut failures = Vec::new();
    let mut cases = 0usize;

    for (event, fields) in EVENT_FIELDS {
        let base = valid_base(event, &conversation, &delivered);
        // The base itself is accepted, so a refusal below is about the one field replaced in it.
        let ack = socket.ack(event, base.clone()).await;
        assert_eq!(ack["ok"], true, "{event} {base}: the valid base payload is refused: {ack}");
        // Strict: not an object.
        for payload in [json!(null), json!(42), json!("text"), json!(true), json!([1, 2]), json!([[[[]]]])] {
            let ack = socket.ack(event, payload.clone()).await;
            cases += 1;
            let code = ack["error"]["code"].as_str().unwrap_or_default();
            if ack["ok"] != false || !(code == "chat.validation" || code == "chat.bad_request") {
                failures.push(format!("{event} {payload}: expected a validation error, got {ack}"));
            }
        }
        // Strict: one field of the wrong type in an otherwise valid payload, refused as `chat.validation`
        // naming that field.
        for (name, kind) in *fields {
            for wrong in wrong_values(*kind) {
                let mut payload = base.clone();
                payload[*name] = wrong;
                let ack = socket.ack(event, payload.clone()).await;
                cases += 1;
                let named: Vec<&str> = ack["error"]["errors"]
                    .as_array()
                    .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
                    .unwrap_or_default();
                if ack["ok"] != false || ack["error"]["code"] != "chat.validation" {
                    failures.push(format!("{event} {payload}: expected chat.validation, got {ack}"));
                } else if named.is_empty() || !named.iter().all(|f| names_field(f, name)) {
                    failures.push(format!("{event} {payload}: the error should name `{name}`, got {ack}"));
                }
            }
        }
        // Lenient: each field with odd values, beside otherwise sensible ones.
        for (name, kind) in *fields {
            for odd in odd_values(*kind) {
                let mut payload = base.clone();
                payload[*name] = odd;
                let shown: String = payload.to_string().chars().take(120).collect();
                let ack = socket.ack(event, payload).await;
                cases += 1;
                let answered = ack["ok"] == true
                    || ack["error"]["code"].as_str().is_some_and(|c| c.starts_with("chat.") && c != "chat.internal");
                if !answered {
                    failures.push(format!("{event} {shown}: {ack}"));
                }
            }
        }
        // Binary data (the Rust test client cannot carry an acknowledgement with it; the server answers
        // `chat.bad_request`, as python-socketio shows): the socket must simply survive it.
        socket.emit_payload(event, Payload::Binary(vec![0, 159, 146, 150].into())).await;
        // Raw payloads: several arguments, nothing at all.
        for payload in [Payload::Text(vec![json!({}), json!({ "x": 1 })]), Payload::Text(vec![])] {
            let ack = socket.ack_payload(event, payload).await;
            cases += 1;
            if !(ack["ok"].is_boolean()) {
                failures.push(format!("{event} raw payload: {ack}"));
            }
        }
    }
    println!("socket bad input: {} events, {cases} cases", EVENT_FIELDS.len());
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));

    // The socket still works, the server is healthy and counted no internal error.
    let ok = socket.ack("sync", json!({ "afterEventSeq": 0 })).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(app.is_healthy().await);
    assert_eq!(app.metric("chat_errors_total").await, 0, "internal errors were counted");
}
