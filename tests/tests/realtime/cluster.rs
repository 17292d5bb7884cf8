//! Cluster mode: two nodes sharing one PostgreSQL database and one Redis broker (`CHAT_BUS_URL`). Events
//! cross nodes; a client whose node stops reconnects to the other with `afterEventSeq` and misses nothing.
//!
//! Needs `CHAT_TEST_DATABASE_URL` (PostgreSQL; each test gets a fresh schema) and `CHAT_TEST_REDIS_URL`
//! (each test gets its own channel prefix); without them the two-node test prints why and is skipped.

use std::collections::BTreeSet;
use std::time::Duration;

use chat_tests::{TestApp, TestSocket, TestUser, send, spawn_app_with, token_for};
use serde_json::{Value, json};

/// A node of the test cluster.
async fn node(db: &str, bus: &str) -> TestApp {
    let (db, bus) = (db.to_owned(), bus.to_owned());
    spawn_app_with(move |c| {
        c.database.url = db;
        c.bus_url = Some(bus);
    })
    .await
}

/// Waits for `count` `message.created` events and returns them in arrival order.
async fn created(socket: &mut TestSocket, count: usize) -> Vec<Value> {
    let mut events = Vec::with_capacity(count);
    for _ in 0..count {
        events.push(socket.next("message.created").await);
    }
    events
}

fn texts(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["data"]["text"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn two_nodes_share_events_and_a_client_fails_over_without_loss_duplicates_or_reordering() {
    let Some((db, bus)) = chat_tests::cluster_urls().await else { return };
    let node_a = node(&db, &bus).await;
    let node_b = node(&db, &bus).await;
    for n in [&node_a, &node_b] {
        let (status, ready) = send(n.http.get(n.url("/health/ready"))).await;
        assert_eq!(status, 200, "a cluster node with its database and broker is ready: {ready}");
    }

    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let carol = TestUser::new("carol");
    let mut a = node_a.socket(&alice).await;
    let mut b = node_b.socket(&bob).await;
    let mut c = node_b.socket(&carol).await;
    let bob_start = b.ready["eventSeq"].as_i64().unwrap();
    let mut bob_seen: Vec<Value> = Vec::new();

    // 1:1, A -> B over REST on node A.
    let first = node_a.send_to(&alice, &bob, "a1").await;
    let conversation = first["conversationId"].as_str().unwrap().to_owned();
    bob_seen.extend(created(&mut b, 1).await);
    assert_eq!(texts(&bob_seen), ["a1"]);
    assert_eq!(a.next("message.created").await["data"]["id"], first["id"], "the sender's own node delivers too");

    // 1:1, B -> A over the socket on node B.
    let ack = b.ack("message.send", json!({ "targetUserId": alice.id, "text": "b1" })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(a.next("message.created").await["data"]["text"], "b1");
    bob_seen.extend(created(&mut b, 1).await);

    // Presence is shared: Bob, connected to node B only, is online for his contact Alice on node A.
    let (status, presence) = node_a.get(&alice, &format!("/api/chat/users/{}/presence", bob.id)).await;
    assert_eq!(status, 200, "{presence}");
    assert_eq!(presence["online"], true, "a user connected on another node is online: {presence}");

    // Typing (ephemeral) crosses nodes the same way, without an eventSeq.
    let ack = b.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let typing = a.next("typing").await;
    assert_eq!(typing["data"]["userId"], bob.id.to_string());
    assert!(typing.get("eventSeq").is_none_or(Value::is_null), "{typing}");

    // A group created on node A: members on node B are told, and receive its messages in order.
    let (status, group) =
        node_a.post(&alice, "/api/chat/groups", json!({ "name": "G", "memberIds": [bob.id, carol.id] })).await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap().to_owned();
    for socket in [&mut b, &mut c] {
        let added = socket.next("group.member_added").await;
        assert!(added["eventSeq"].as_i64().is_some(), "{added}");
    }
    for i in 1..=3 {
        let (status, body) = node_a
            .post(&alice, "/api/chat/messages", json!({ "conversationId": group_id, "text": format!("g{i}") }))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    bob_seen.extend(created(&mut b, 3).await);
    assert_eq!(texts(&created(&mut c, 3).await), ["g1", "g2", "g3"]);

    // A burst from node A without waiting in between (from several senders, to stay under the per-user
    // send rate): node B delivers all of it, in commit order.
    let senders: Vec<TestUser> = (0..4).map(|i| TestUser::new(&format!("sender{i}"))).collect();
    let burst: Vec<String> = (1..=20).map(|i| format!("burst {i}")).collect();
    for (i, text) in burst.iter().enumerate() {
        node_a.send_to(&senders[i % senders.len()], &bob, text).await;
    }
    let received = created(&mut b, burst.len()).await;
    assert_eq!(texts(&received), burst);
    bob_seen.extend(received);

    // Node B stops: Bob's transport closes. Alice keeps writing through node A meanwhile.
    let last_seen = bob_seen.last().and_then(|e| e["eventSeq"].as_i64()).unwrap();
    let node_b_health = node_b.url("/health/live");
    node_b.stop().await;
    // The node closed Bob's transport (this test client does not report it) and no longer answers.
    drop(b);
    drop(c);
    assert!(reqwest::get(&node_b_health).await.is_err(), "node B still answers");
    let missed: Vec<String> = (1..=5).map(|i| format!("while B is down {i}")).collect();
    for (i, text) in missed.iter().enumerate() {
        node_a.send_to(&senders[i % senders.len()], &bob, text).await;
    }
    let (status, body) =
        node_a.post(&alice, "/api/chat/messages", json!({ "conversationId": group_id, "text": "g4" })).await;
    assert_eq!(status, 201, "{body}");

    // Bob fails over to node A with his last position: the missed events are replayed before `ready`.
    let mut b =
        TestSocket::connect(&node_a.base, json!({ "token": token_for(&bob), "afterEventSeq": last_seen }), None)
            .await
            .unwrap();
    let replayed = created(&mut b, missed.len() + 1).await;
    let mut expected = missed.clone();
    expected.push("g4".to_owned());
    assert_eq!(texts(&replayed), expected);
    bob_seen.extend(replayed);
    // And live delivery goes on from the new node.
    node_a.send_to(&alice, &bob, "after failover").await;
    bob_seen.extend(created(&mut b, 1).await);
    assert!(b.try_next("message.created", Duration::from_millis(300)).await.is_none(), "an extra event arrived");

    // Zero duplicated, order kept: Bob's positions strictly grow, and each conversation's `seq` goes up one
    // by one with no hole.
    let positions: Vec<i64> = bob_seen.iter().map(|e| e["eventSeq"].as_i64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions out of order or repeated: {positions:?}");
    let conversations: BTreeSet<&str> =
        bob_seen.iter().map(|e| e["data"]["conversationId"].as_str().unwrap()).collect();
    assert_eq!(conversations.len(), 1 + 1 + senders.len(), "{conversations:?}");
    for conversation_id in conversations {
        let seqs: Vec<i64> = bob_seen
            .iter()
            .filter(|e| e["data"]["conversationId"] == conversation_id)
            .map(|e| e["data"]["seq"].as_i64().unwrap())
            .collect();
        let expected: Vec<i64> = (1..=i64::try_from(seqs.len()).unwrap()).collect();
        assert_eq!(seqs, expected, "conversation {conversation_id}");
    }
    // Zero lost: every `message.created` in Bob's stored stream reached him, live or replayed.
    let (status, page) = node_a.get(&bob, &format!("/api/chat/sync?afterEventSeq={bob_start}&limit=100")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["hasMore"], false, "{page}");
    let stored: BTreeSet<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message.created")
        .map(|e| e["eventSeq"].as_i64().unwrap())
        .collect();
    assert_eq!(stored, positions.iter().copied().collect::<BTreeSet<_>>());
    assert_eq!(stored.len(), bob_seen.len());
    assert_eq!(bob_seen.len(), 1 + 1 + 3 + burst.len() + missed.len() + 1 + 1);

    a.close().await;
    b.close().await;
    node_a.stop().await;
}

#[tokio::test]
async fn a_node_whose_broker_is_unreachable_still_commits_serves_its_own_sockets_and_is_not_ready() {
    // A port nothing listens on once the probe listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let app = spawn_app_with(|c| c.bus_url = Some(format!("redis://127.0.0.1:{port}"))).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let mut b = app.socket(&bob).await;

    // Publishing fails, the committed call does not, and local delivery does not wait for the broker.
    let started = std::time::Instant::now();
    let message = app.send_to(&alice, &bob, "broker down").await;
    assert!(started.elapsed() < Duration::from_secs(5), "a broker outage held the request up");
    assert_eq!(b.next("message.created").await["data"]["id"], message["id"]);

    let (status, body) = send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "chat.unavailable", "{body}");
    let (status, _) = send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(status, 200);
}

/// A node that dies closes none of its sockets: its users' connections stay in Redis until they expire.
/// The dead node is played here by a presence tracker (with a short connection lifetime) that opens Bob's
/// connection and is then dropped without closing it, which is exactly what a crashed node leaves behind;
/// the surviving node is a real server, whose periodic sweep (every 10 s) must tell Bob's contact Alice,
/// on her socket, that Bob went offline (that exactly one of several sweeping nodes announces it is checked
/// in `chat-infrastructure`'s presence tests).
#[tokio::test]
async fn the_users_of_a_dead_node_are_announced_offline_by_a_surviving_node() {
    use chat_application::{ConnectionId, PresenceTracker};
    use chat_domain::{TenantId, UserId};
    use chat_infrastructure::bus::BusConfig;
    use chat_infrastructure::presence::{RedisPresenceOptions, RedisPresenceTracker};

    let Some((db, bus)) = chat_tests::cluster_urls().await else { return };
    let Ok(BusConfig::Redis { url, prefix }) = BusConfig::parse(Some(&bus)) else { panic!("a Redis bus URL") };
    let survivor = node(&db, &bus).await;
    let (alice, bob) = (TestUser::new("alice"), TestUser::new("bob"));
    survivor.touch(&bob).await;
    survivor.send_to(&alice, &bob, "hi").await;

    // Bob is connected to the node that is about to die.
    let options = RedisPresenceOptions {
        prefix,
        connection_ttl: Duration::from_millis(500),
        refresh_interval: Duration::from_millis(100),
        ..RedisPresenceOptions::default()
    };
    let dead_node = RedisPresenceTracker::open(&url, options).unwrap();
    let bob_id = UserId::from_uuid(bob.id);
    dead_node
        .connect(TenantId::HOST, bob_id, &ConnectionId::new("bob-on-the-dead-node"), chrono::Utc::now())
        .await
        .unwrap();
    let mut a = survivor.socket(&alice).await;
    let online = a.ready["presence"].as_array().unwrap();
    assert!(online.iter().any(|p| p["userId"] == bob.id.to_string()), "Bob is online: {}", a.ready);

    // The node dies: its renewals stop and it closes nothing.
    drop(dead_node);
    let envelope = a.try_next("presence", Duration::from_secs(20)).await.expect("no offline presence within 20 s");
    assert_eq!(envelope["data"]["userId"], bob.id.to_string(), "{envelope}");
    assert_eq!(envelope["data"]["online"], false, "{envelope}");
    assert!(envelope["data"]["lastSeenAt"].is_string(), "{envelope}");
    let (status, body) = survivor.get(&alice, &format!("/api/chat/users/{}/presence", bob.id)).await;
    assert_eq!((status, &body["online"]), (200, &Value::Bool(false)), "{body}");
    survivor.stop().await;
}

#[tokio::test]
async fn an_event_whose_node_died_before_publishing_reaches_the_other_node_live_through_its_relay() {
    let Some((db, bus)) = chat_tests::cluster_urls().await else { return };
    // Node A commits but its publication is lost: its broker address leads nowhere, which leaves the database
    // exactly as a node that died between commit and publish does (stored, unmarked).
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let node_a = node(&db, &format!("redis://127.0.0.1:{port}")).await;
    let grace = Duration::from_millis(500);
    let node_b = {
        let (db, bus) = (db.clone(), bus.clone());
        spawn_app_with(move |c| {
            c.database.url = db;
            c.bus_url = Some(bus);
            c.outbox_relay.grace = grace;
            c.outbox_relay.interval = Duration::from_millis(100);
        })
        .await
    };
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let mut b = node_b.socket(&bob).await;
    let bob_start = b.ready["eventSeq"].as_i64().unwrap();

    let before_send = std::time::Instant::now();
    let sent = node_a.send_to(&alice, &bob, "published by the relay").await;
    // Node A dies right after the commit (its relay with it): only node B can publish the event.
    node_a.stop().await;

    let event = b.next_new("message.created").await;
    let waited = before_send.elapsed();
    assert_eq!(event["data"]["id"], sent["id"], "{event}");
    assert!(waited >= grace, "published before the grace period: {waited:?}");
    // The envelope is the one live delivery and sync give: the same eventSeq, the same payload.
    let (status, page) = node_b.get(&bob, &format!("/api/chat/sync?afterEventSeq={bob_start}")).await;
    assert_eq!(status, 200, "{page}");
    let stored: Vec<&Value> =
        page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "message.created").collect();
    assert_eq!(stored.len(), 1, "{page}");
    assert_eq!(event["eventSeq"], stored[0]["eventSeq"]);
    assert_eq!(event["data"], stored[0]["data"]);
    // Exactly once after dropping repeated eventSeqs (and, here, not even repeated).
    assert!(b.try_next("message.created", grace * 3).await.is_none(), "the relay published the event twice");
    assert_eq!(b.duplicates_dropped(), 0);
    println!("relayed to a socket on the other node {waited:?} after the send (grace {grace:?})");

    let (status, metrics) = {
        let response = node_b.http.get(node_b.url("/metrics")).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 200);
    assert!(metrics.contains("chat_outbox_relayed_total 1"), "{metrics}");
    b.close().await;
    node_b.stop().await;
}
