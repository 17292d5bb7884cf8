//! Catch-up after a reconnect: `auth.afterEventSeq` replays, `sync` pages; nothing is missed.

use std::collections::HashSet;

use chat_host::config::RateLimit;
use chat_tests::{TestSocket, TestUser, spawn_app, spawn_app_with, token_for};
use futures_util::future::join_all;
use serde_json::{Value, json};

#[tokio::test]
async fn a_reconnecting_client_replays_what_it_missed_with_after_event_seq() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&alice).await;

    let mut b = app.socket(&bob).await;
    app.send_to(&alice, &bob, "while online").await;
    let seen = b.next("message.created").await;
    let last_seen = seen["eventSeq"].as_i64().unwrap();
    b.close().await;

    // Offline: three messages and an edit.
    let mut ids = Vec::new();
    for text in ["missed 1", "missed 2", "missed 3"] {
        ids.push(app.send_to(&alice, &bob, text).await["id"].clone());
    }
    let (status, _) = app
        .patch(
            &alice,
            &format!("/api/chat/messages/{}", ids[0].as_str().unwrap()),
            json!({ "text": "missed 1 (edited)" }),
        )
        .await;
    assert_eq!(status, 200);

    // Reconnect with the last position: the missed events come before `ready`, in order.
    let mut b = TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": last_seen }), None)
        .await
        .unwrap();
    let mut texts = Vec::new();
    for _ in 0..3 {
        let event = b.next("message.created").await;
        assert!(event["eventSeq"].as_i64().unwrap() > last_seen);
        texts.push(event["data"]["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(texts, ["missed 1", "missed 2", "missed 3"]);
    let updated = b.next("message.updated").await;
    assert_eq!(updated["data"]["text"], "missed 1 (edited)");
    assert!(b.ready["eventSeq"].as_i64().unwrap() >= updated["eventSeq"].as_i64().unwrap());

    // Live events keep flowing after the replay.
    app.send_to(&alice, &bob, "live again").await;
    assert_eq!(b.next("message.created").await["data"]["text"], "live again");
}

#[tokio::test]
async fn sync_returns_missed_events_in_pages() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let b = app.socket(&bob).await;
    let start = b.ready["eventSeq"].as_i64().unwrap();
    b.close().await;

    for i in 0..5 {
        app.send_to(&alice, &bob, &format!("m{i}")).await;
    }

    let b = app.socket(&bob).await;
    let mut after = start;
    let mut texts = Vec::new();
    loop {
        let ack = b.ack("sync", json!({ "afterEventSeq": after, "limit": 2 })).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let data = &ack["data"];
        assert_eq!(data["resyncRequired"], false);
        let events = data["events"].as_array().unwrap();
        for event in events {
            let seq = event["eventSeq"].as_i64().unwrap();
            assert!(seq > after, "eventSeq only grows");
            after = seq;
            if event["type"] == "message.created" {
                texts.push(event["data"]["text"].as_str().unwrap().to_owned());
            }
        }
        if data["hasMore"] == false {
            break;
        }
    }
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);

    // The same through REST.
    let (status, page) = app.get(&bob, &format!("/api/chat/sync?afterEventSeq={start}&limit=100")).await;
    assert_eq!(status, 200, "{page}");
    let created: Vec<&Value> =
        page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "message.created").collect();
    assert_eq!(created.len(), 5);
}

#[tokio::test]
async fn a_position_ahead_of_the_stream_requires_a_resync_or_returns_nothing() {
    let app = spawn_app().await;
    let bob = TestUser::new("bob");
    let b = app.socket(&bob).await;
    let ack = b.ack("sync", json!({ "afterEventSeq": 1_000_000 })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let data = &ack["data"];
    assert!(data["resyncRequired"] == true || data["events"].as_array().is_some_and(Vec::is_empty), "{ack}");
}

/// A replay much larger than the socket's send buffer (8 packets here) arrives whole, while the sender keeps
/// sending live: applied the way clients apply events (an `eventSeq` not above the highest one seen is
/// dropped), the stream holds every message. Live events committed during the replay are left to it, so
/// none overtakes a replayed one; a socket that falls behind live is closed, and its client resumes after
/// the last `eventSeq` it saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_larger_than_the_socket_buffer_leaves_no_gap_while_live_events_flow() {
    const STORED: usize = 120;
    const LIVE: usize = 30;
    let app = small_buffer_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&alice).await;
    let b = app.socket(&bob).await;
    let start = b.ready["eventSeq"].as_i64().unwrap();
    b.close().await;

    let mut sent: HashSet<String> = HashSet::new();
    let texts: Vec<String> = (0..STORED).map(|i| format!("stored {i}")).collect();
    for chunk in texts.chunks(8) {
        let sends = chunk.iter().map(|text| app.send_to(&alice, &bob, text));
        for message in join_all(sends).await {
            sent.insert(message["id"].as_str().unwrap().to_owned());
        }
    }

    // Live sends start before the reconnect and go on during the replay and after it, in bursts of ten
    // concurrent sends (one group commit can then hand the sender more events than the buffer holds).
    let mut live = {
        let (base, alice, bob) = (app.base.clone(), alice.clone(), bob.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ids = Vec::new();
            for burst in 0..LIVE / 10 {
                let sends = (0..10).map(|i| {
                    let body = json!({ "targetUserId": bob.id, "text": format!("live {burst}.{i}") });
                    chat_tests::send(
                        http.post(format!("{base}/api/chat/messages")).bearer_auth(token_for(&alice)).json(&body),
                    )
                });
                for (status, message) in join_all(sends).await {
                    assert_eq!(status, 201, "{message}");
                    ids.push(message["id"].as_str().unwrap().to_owned());
                }
            }
            ids
        })
    };

    let mut position = start;
    let mut applied: HashSet<String> = HashSet::new();
    let (mut dropped, mut reconnects) = (0, 0);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut socket =
        TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": position }), None)
            .await
            .unwrap();
    let mut live_ids: Option<Vec<String>> = None;
    loop {
        if live_ids.is_none() && live.is_finished() {
            live_ids = Some((&mut live).await.unwrap());
            sent.extend(live_ids.iter().flatten().cloned());
        }
        if live_ids.is_some() && sent.is_subset(&applied) {
            break;
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!remaining.is_zero(), "missing {} of {} messages", sent.difference(&applied).count(), sent.len());
        let Some((name, event)) = socket.next_any(std::time::Duration::from_millis(200).min(remaining)).await else {
            continue;
        };
        if name == "close" {
            reconnects += 1;
            assert!(reconnects <= 20, "the socket keeps being closed");
            socket =
                TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": position }), None)
                    .await
                    .unwrap();
            continue;
        }
        let Some(seq) = event["eventSeq"].as_i64() else { continue };
        if seq <= position {
            dropped += 1;
            continue;
        }
        position = seq;
        if name == "message.created" {
            applied.insert(event["data"]["id"].as_str().unwrap().to_owned());
        }
    }
    println!(
        "replay over an 8-packet buffer: {} messages, {dropped} repeats dropped, {reconnects} reconnects",
        sent.len()
    );
    assert_eq!(applied, sent, "every message, nothing else");
}

/// An Engine.IO long-polling client driven by hand: packets wait in the server's buffer until it polls, so
/// the test can stop reading on purpose.
struct PollingClient {
    http: reqwest::Client,
    url: String,
}

impl PollingClient {
    /// Opens a session and connects to the default namespace with `auth`.
    async fn connect(base: &str, auth: Value) -> PollingClient {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
        let open = http.get(format!("{base}/socket.io/?EIO=4&transport=polling")).send().await.unwrap();
        let body = open.text().await.unwrap();
        let handshake: Value = serde_json::from_str(body.strip_prefix('0').expect("an OPEN packet")).unwrap();
        let url = format!("{base}/socket.io/?EIO=4&transport=polling&sid={}", handshake["sid"].as_str().unwrap());
        let sent = http.post(&url).body(format!("40{auth}")).send().await.unwrap();
        assert!(sent.status().is_success(), "namespace CONNECT refused: {}", sent.status());
        PollingClient { http, url }
    }

    /// One poll: the Socket.IO packets the server had queued (or sends within its ping interval), each as
    /// its type digit and its payload, e.g. `('2', ["ready", {..}])` for an event, `('1', null)` for a
    /// namespace disconnect. Engine.IO pings are answered.
    async fn poll(&self) -> Vec<(char, Value)> {
        let body = self.http.get(&self.url).send().await.unwrap().text().await.unwrap();
        let mut packets = Vec::new();
        for packet in body.split('\u{1e}') {
            match packet.strip_prefix('4') {
                Some(message) => {
                    let kind = message.chars().next().expect("a Socket.IO packet type");
                    let payload = serde_json::from_str(&message[1..]).unwrap_or(Value::Null);
                    packets.push((kind, payload));
                }
                None if packet == "2" => {
                    self.http.post(&self.url).body("3").send().await.unwrap();
                }
                None => {}
            }
        }
        packets
    }

    /// Polls until an event named `name` arrives (or `deadline`); returns what came before it and the event.
    async fn poll_until(&self, name: &str, deadline: tokio::time::Instant) -> (Vec<(char, Value)>, Value) {
        let mut before = Vec::new();
        while tokio::time::Instant::now() < deadline {
            for (kind, payload) in self.poll().await {
                if kind == '2' && payload[0] == name {
                    return (before, payload[1].clone());
                }
                before.push((kind, payload));
            }
        }
        panic!("no `{name}` event; got {before:?}");
    }
}

/// A client that stops reading while its events keep coming: once its buffer (8 packets) is full, the next
/// stored event is not dropped silently: the socket stops receiving stored events and is disconnected, so
/// what it did receive is a gap-free prefix of its stream, and a reconnect with the last `eventSeq` it saw
/// brings the rest, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_rather_than_skipped() {
    const SENT: usize = 20;
    let app = small_buffer_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&alice).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let polling = PollingClient::connect(&app.base, json!({ "token": token_for(&bob) })).await;
    let (_, ready) = polling.poll_until("ready", deadline).await;
    let mut position = ready["eventSeq"].as_i64().unwrap();

    // Bob does not poll while Alice sends: his buffer fills after eight packets.
    let mut texts = Vec::new();
    for i in 0..SENT {
        texts.push(format!("m{i}"));
        app.send_to(&alice, &bob, &texts[i]).await;
    }

    // He reads again: a prefix of the stream, then the namespace disconnect.
    let mut received = Vec::new();
    let mut disconnected = false;
    while !disconnected {
        assert!(tokio::time::Instant::now() < deadline, "never disconnected; received {received:?}");
        for (kind, payload) in polling.poll().await {
            match kind {
                '1' => disconnected = true,
                '2' if payload[0] == "message.created" => {
                    assert!(!disconnected, "an event after the disconnect");
                    let seq = payload[1]["eventSeq"].as_i64().unwrap();
                    assert!(seq > position, "eventSeq {seq} after {position}");
                    position = seq;
                    received.push(payload[1]["data"]["text"].as_str().unwrap().to_owned());
                }
                _ => {}
            }
        }
    }
    assert!(received.len() < SENT, "the buffer of 8 held all {SENT} events: the test proved nothing");
    assert_eq!(received, texts[..received.len()], "what arrived is the start of the stream, with no gap");

    // Resuming after the last event seen brings exactly the rest, in order.
    let mut socket =
        TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": position }), None)
            .await
            .unwrap();
    for text in &texts[received.len()..] {
        assert_eq!(socket.next("message.created").await["data"]["text"], text.as_str());
    }
}

/// A server whose sockets buffer 8 packets, with no practical send limit.
async fn small_buffer_app() -> chat_tests::TestApp {
    spawn_app_with(|c| {
        c.limits.socket_buffer_packets = 8;
        c.rate_limits.send = RateLimit::per_second(10_000, 10_000);
    })
    .await
}
