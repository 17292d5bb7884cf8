//! `EventService.Subscribe`: live events (the same envelopes as Socket.IO), replay after a position,
//! resync, shutdown, and delivery across cluster nodes.

use std::time::{Duration, Instant};

use chat_host::grpc::proto;
use chat_tests::TestUser;
use tonic::{Code, Streaming};

use crate::support::{Event, GrpcApp, as_user, next_event, next_named, spawn_grpc, spawn_grpc_with};

async fn subscribe(grpc: &GrpcApp, user: &TestUser, after: Option<i64>) -> Streaming<proto::Event> {
    let request = proto::SubscribeRequest { after_event_seq: after };
    grpc.events().subscribe(as_user(user, request)).await.unwrap().into_inner()
}

/// Reads events up to `ready`; returns the events before it and `ready`'s data.
async fn until_ready(stream: &mut Streaming<proto::Event>) -> (Vec<Event>, serde_json::Value) {
    let mut before = Vec::new();
    loop {
        let event = next_event(stream).await;
        if event.kind == "ready" {
            return (before, event.data);
        }
        before.push(event);
    }
}

fn created_texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "message.created")
        .map(|e| e.data["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_event_sent_over_rest_arrives_on_the_stream_as_on_the_socket() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    let mut stream = subscribe(&grpc, &bob, None).await;
    let (replayed, ready) = until_ready(&mut stream).await;
    assert!(replayed.is_empty(), "nothing is replayed without a position: {replayed:?}");
    assert_eq!(ready["userId"], bob.id.to_string());
    let mut socket = grpc.app.socket(&bob).await;

    let sent = grpc.app.send_to(&alice, &bob, "over REST").await;
    let event = next_named(&mut stream, "message.created").await;
    let on_socket = socket.next("message.created").await;
    assert_eq!(event.data["id"], sent["id"]);
    assert_eq!(event.data["text"], "over REST");
    assert!(event.seq.is_some());
    assert_eq!(serde_json::json!(event.seq), on_socket["eventSeq"]);
    assert_eq!(event.data, on_socket["data"], "the same payload as the socket's");
    socket.close().await;
}

#[tokio::test]
async fn missed_events_are_replayed_once_in_order_before_live_ones() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    for text in ["one", "two", "three"] {
        grpc.app.send_to(&alice, &bob, text).await;
    }

    let mut stream = subscribe(&grpc, &bob, Some(0)).await;
    let (replayed, ready) = until_ready(&mut stream).await;
    assert_eq!(created_texts(&replayed), ["one", "two", "three"]);
    let seqs: Vec<i64> = replayed.iter().map(|e| e.seq.expect("stored events have a position")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, each once: {seqs:?}");
    assert_eq!(ready["eventSeq"], serde_json::json!(seqs.last().copied()));

    // From the middle: only what came after.
    let first = replayed.iter().find(|e| e.data["text"] == "one").and_then(|e| e.seq);
    let mut later = subscribe(&grpc, &bob, first).await;
    let (rest, _) = until_ready(&mut later).await;
    assert_eq!(created_texts(&rest), ["two", "three"]);

    // Then live, once, on both streams.
    grpc.app.send_to(&alice, &bob, "four").await;
    for s in [&mut stream, &mut later] {
        let live = next_named(s, "message.created").await;
        assert_eq!(live.data["text"], "four");
        assert!(live.seq > seqs.last().copied());
    }
}

#[tokio::test]
async fn a_position_that_is_not_kept_asks_for_a_resync() {
    let grpc = spawn_grpc().await;
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    let mut stream = subscribe(&grpc, &bob, Some(1_000_000)).await;
    let (before, ready) = until_ready(&mut stream).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].kind, "resync.required");
    assert_eq!(before[0].seq, None);
    assert_eq!(before[0].data["eventSeq"], ready["eventSeq"]);
}

#[tokio::test]
async fn shutting_down_ends_open_streams_without_waiting_for_the_grace_period() {
    let grpc = spawn_grpc().await;
    let bob = TestUser::new("bob");
    let mut stream = subscribe(&grpc, &bob, None).await;
    until_ready(&mut stream).await;
    let GrpcApp { app, .. } = grpc;
    let started = Instant::now();
    app.stop().await;
    // The test configuration's grace period is 5 s; an open stream must not hold the drain that long.
    assert!(started.elapsed() < Duration::from_secs(4), "stopping took {:?}", started.elapsed());
    let end = tokio::time::timeout(chat_tests::WAIT, stream.message()).await.expect("the stream ends");
    match end {
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        Ok(None) => {}
        Ok(Some(event)) => panic!("unexpected event after shutdown: {event:?}"),
    }
}

#[tokio::test]
async fn a_subscriber_on_one_node_receives_events_committed_on_another() {
    let Some((db, bus)) = chat_tests::cluster_urls().await else { return };
    let node = |db: String, bus: String| {
        spawn_grpc_with(move |c| {
            c.database.url = db;
            c.bus_url = Some(bus);
        })
    };
    let node_a = node(db.clone(), bus.clone()).await;
    let node_b = node(db, bus).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    node_a.app.touch(&bob).await;

    let mut on_b = subscribe(&node_b, &bob, None).await;
    until_ready(&mut on_b).await;
    let sent = node_a.app.send_to(&alice, &bob, "across nodes").await;
    let event = next_named(&mut on_b, "message.created").await;
    assert_eq!(event.data["id"], sent["id"]);
    // And replay from node B sees it too, with the same position.
    let mut replay = subscribe(&node_b, &bob, Some(0)).await;
    let (replayed, _) = until_ready(&mut replay).await;
    let again = replayed.iter().find(|e| e.data["id"] == sent["id"]).expect("replayed");
    assert_eq!(again.seq, event.seq);
}

#[tokio::test]
async fn streams_per_user_are_capped_and_a_closed_one_frees_its_place() {
    let grpc = spawn_grpc_with(|c| c.limits.max_sockets_per_user = 1).await;
    let bob = TestUser::new("bob");
    let alice = TestUser::new("alice");
    let mut first = subscribe(&grpc, &bob, None).await;
    until_ready(&mut first).await;
    let status = crate::support::assert_code(
        grpc.events().subscribe(as_user(&bob, proto::SubscribeRequest::default())).await,
        Code::ResourceExhausted,
        "second stream",
    );
    assert!(status.message().contains("at most 1"), "{status:?}");
    // Another user is not affected.
    let mut other = subscribe(&grpc, &alice, None).await;
    until_ready(&mut other).await;

    // Closing the first stream frees the place, once the server has seen the stream end.
    drop(first);
    let deadline = Instant::now() + chat_tests::WAIT;
    loop {
        match grpc.events().subscribe(as_user(&bob, proto::SubscribeRequest::default())).await {
            Ok(stream) => {
                until_ready(&mut stream.into_inner()).await;
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("the place was not freed: {status:?}"),
        }
    }
}

#[tokio::test]
async fn an_open_stream_counts_for_presence_like_a_socket() {
    let grpc = spawn_grpc().await;
    let (alice, bob) = (TestUser::new("alice"), TestUser::new("bob"));
    grpc.app.touch(&bob).await;
    grpc.app.send_to(&alice, &bob, "hi").await;

    // Bob subscribes while Alice is offline: nobody is listed in `ready`.
    let mut stream = subscribe(&grpc, &bob, None).await;
    let (_, ready) = until_ready(&mut stream).await;
    assert_eq!(ready["presence"], serde_json::json!([]), "{ready}");

    // Alice's socket lists Bob online, and Bob's stream hears that Alice came online.
    let mut socket = grpc.app.socket(&alice).await;
    let listed = socket.ready["presence"].as_array().unwrap();
    assert!(listed.iter().any(|p| p["userId"] == bob.id.to_string() && p["online"] == true), "{}", socket.ready);
    let came = next_named(&mut stream, "presence").await;
    assert_eq!(
        (came.seq, &came.data["userId"], &came.data["online"]),
        (None, &serde_json::json!(alice.id), &serde_json::json!(true))
    );

    // Bob's stream ends: Alice hears that he went offline.
    drop(stream);
    let gone = socket.next("presence").await;
    assert_eq!(
        (&gone["data"]["userId"], &gone["data"]["online"]),
        (&serde_json::json!(bob.id), &serde_json::json!(false))
    );
    socket.close().await;
}
