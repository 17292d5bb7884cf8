//! Reconnect and catch-up: a client offline for 1 s or 30 s while others send gets exactly the events it
//! missed, in order, before the live ones (with `auth.afterEventSeq`, or with `sync`); a pruned position
//! gets `resyncRequired`; another user's position reveals nothing of theirs.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chat_tests::history::{Entry, History, Observed, SideObservation, StoredMessage, applied_stream, check};
use chat_tests::load::{LoadClient, call};
use chat_tests::{TestApp, TestSocket, TestUser, spawn_app, spawn_app_with, token_for};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::wait_progress;

/// Alice and Carol send to Bob (directly and in a group) while Bob is away.
struct Scene {
    app: TestApp,
    alice: TestUser,
    bob: TestUser,
    carol: TestUser,
    direct: Uuid,
    group: Uuid,
    history: Arc<History>,
}

impl Scene {
    async fn new() -> Scene {
        let app = spawn_app().await;
        let (alice, bob, carol) = (TestUser::new("alice"), TestUser::new("bob"), TestUser::new("carol"));
        for u in [&alice, &bob, &carol] {
            app.touch(u).await;
        }
        let (status, direct) = app.post(&alice, "/api/chat/conversations", json!({ "targetUserId": bob.id })).await;
        assert!(status == 200 || status == 201, "{direct}");
        let (status, group) =
            app.post(&alice, "/api/chat/groups", json!({ "name": "away", "memberIds": [bob.id, carol.id] })).await;
        assert_eq!(status, 201, "{group}");
        let id = |v: &Value| Uuid::parse_str(v["id"].as_str().unwrap()).unwrap();
        Scene { direct: id(&direct), group: id(&group), app, alice, bob, carol, history: Arc::new(History::new()) }
    }

    /// Sends over REST (acknowledged by the 201) until `stop`, one message every 150 ms, alternating
    /// senders; logs each send as client 1 (Alice) or 2 (Carol); returns the stored ids as they come.
    fn start_senders(&self, stop: Arc<AtomicBool>, progress: Arc<AtomicUsize>) -> tokio::task::JoinHandle<Vec<Uuid>> {
        let (http, base, history) = (self.app.http.clone(), self.app.base.clone(), self.history.clone());
        let plan = [
            (1, self.alice.clone(), self.direct),
            (2, self.carol.clone(), self.group),
            (1, self.alice.clone(), self.group),
        ];
        tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(150));
            let mut k = 0;
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                let (client, user, conversation) = &plan[k % plan.len()];
                let key = format!("r{k}");
                history.push(Entry::SendInvoked {
                    client: *client,
                    user: user.id,
                    conversation: *conversation,
                    client_message_id: key.clone(),
                });
                let body = json!({ "conversationId": conversation, "text": format!("while away {k}"), "clientMessageId": key });
                let (status, m) =
                    call(&http, &base, user, reqwest::Method::POST, "/api/chat/messages", Some(body)).await;
                assert_eq!(status, 201, "{m}");
                let id = Uuid::parse_str(m["id"].as_str().unwrap()).unwrap();
                history.push(Entry::SendAcked {
                    client: *client,
                    user: user.id,
                    conversation: *conversation,
                    client_message_id: key,
                    message_id: id,
                    seq: m["seq"].as_i64().unwrap(),
                });
                ids.push(id);
                progress.fetch_add(1, Ordering::SeqCst);
                k += 1;
            }
            ids
        })
    }

    /// Bob's stored events after `after`, through the REST `sync` (the oracle).
    async fn stored_events(&self, mut after: i64) -> Vec<(i64, String)> {
        let mut events = Vec::new();
        loop {
            let (status, page) =
                self.app.get(&self.bob, &format!("/api/chat/sync?afterEventSeq={after}&limit=100")).await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["resyncRequired"], false, "{page}");
            for e in page["events"].as_array().unwrap() {
                after = e["eventSeq"].as_i64().unwrap();
                events.push((after, e["type"].as_str().unwrap().to_owned()));
            }
            if page["hasMore"] != true {
                return events;
            }
        }
    }

    /// Everything the checker needs about the two conversations, read back through the REST API.
    async fn observed(&self) -> Observed {
        let mut observed = Observed { clients: BTreeMap::from([(0, self.bob.id)]), ..Observed::default() };
        let conversations =
            [(self.direct, vec![&self.alice, &self.bob]), (self.group, vec![&self.alice, &self.bob, &self.carol])];
        for (conversation, members) in conversations {
            observed.members.insert(conversation, members.iter().map(|u| u.id).collect::<BTreeSet<_>>());
            let mut after = 0;
            loop {
                let path = format!("/api/chat/conversations/{conversation}/messages?after={after}&limit=100");
                let (status, page) = self.app.get(&self.alice, &path).await;
                assert_eq!(status, 200, "{page}");
                for m in page["items"].as_array().unwrap() {
                    after = m["seq"].as_i64().unwrap();
                    observed.stored.push(StoredMessage {
                        id: Uuid::parse_str(m["id"].as_str().unwrap()).unwrap(),
                        conversation,
                        seq: after,
                        sender: Uuid::parse_str(m["senderId"].as_str().unwrap()).unwrap(),
                        client_message_id: m["clientMessageId"].as_str().map(str::to_owned),
                        deleted: m["deleted"].as_bool().unwrap_or(false),
                    });
                }
                if page["hasMore"] != true {
                    break;
                }
            }
            for user in members {
                let (status, side) = self.app.get(user, &format!("/api/chat/conversations/{conversation}")).await;
                assert_eq!(status, 200, "{side}");
                observed.sides.push(SideObservation {
                    user: user.id,
                    conversation,
                    unread_count: side["unreadCount"].as_i64().unwrap(),
                    read_seq: side["readSeq"].as_i64().unwrap(),
                });
            }
        }
        observed
    }
}

/// How Bob catches up after the outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CatchUp {
    /// Reconnect with `auth.afterEventSeq`.
    Handshake,
    /// Reconnect without a position and page through the socket `sync`.
    Sync,
}

async fn offline_while_others_send(outage: Duration, how: CatchUp) {
    let scene = Scene::new().await;
    let progress = Arc::new(AtomicUsize::new(0));
    let mut bob = LoadClient::new(0, scene.bob.clone(), scene.history.clone(), Arc::new(AtomicUsize::new(0)));
    bob.connect(&scene.app.base).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let senders = scene.start_senders(stop.clone(), progress.clone());

    // Online for a few messages, then away for `outage` while the others keep sending.
    wait_progress(&progress, 3, Duration::from_secs(10)).await;
    bob.close().await;
    let position = bob.position();
    let away_from = progress.load(Ordering::SeqCst);
    tokio::time::sleep(outage).await;
    let missed_count = progress.load(Ordering::SeqCst) - away_from;
    assert!(missed_count >= 1, "no message was sent while Bob was away");

    let mut synced: Vec<(i64, String)> = Vec::new();
    let mut synced_ids: HashSet<Uuid> = HashSet::new();
    match how {
        CatchUp::Handshake => bob.connect(&scene.app.base).await.unwrap(),
        CatchUp::Sync => {
            bob.connect_with(&scene.app.base, false).await.unwrap();
            let mut after = position;
            loop {
                let ack = bob.request("sync", json!({ "afterEventSeq": after, "limit": 20 })).await.unwrap();
                assert_eq!(ack["ok"], true, "{ack}");
                assert_eq!(ack["data"]["resyncRequired"], false, "{ack}");
                for e in ack["data"]["events"].as_array().unwrap() {
                    let seq = e["eventSeq"].as_i64().unwrap();
                    assert!(seq > after, "sync pages go forward: {seq} after {after}");
                    after = seq;
                    synced.push((seq, e["type"].as_str().unwrap().to_owned()));
                    if let Some(id) = e["data"]["id"].as_str() {
                        synced_ids.insert(Uuid::parse_str(id).unwrap());
                    }
                }
                if ack["data"]["hasMore"] != true {
                    break;
                }
            }
        }
    }
    // Live traffic goes on after the reconnect, then stops.
    let back_at = progress.load(Ordering::SeqCst);
    wait_progress(&progress, back_at + 3, Duration::from_secs(10)).await;
    stop.store(true, Ordering::SeqCst);
    let sent: HashSet<Uuid> = senders.await.unwrap().into_iter().collect();

    // Bob ends with every message: as events (live or replayed), or through the `sync` answers.
    let as_events: HashSet<Uuid> = sent.difference(&synced_ids).copied().collect();
    assert!(bob.received_all(&as_events, Duration::from_secs(10)).await, "Bob did not catch up");
    let stored = scene.stored_events(position).await;
    let entries = scene.history.entries();
    // What Bob applied after the position he had when he closed (events in flight then may still have
    // arrived on the old socket; the reconnect resumed after them).
    let applied = applied_stream(&entries, 0);
    let after_close: Vec<(i64, String)> = applied
        .iter()
        .filter(|r| r.event_seq.is_some_and(|s| s > position))
        .map(|r| (r.event_seq.unwrap(), r.event.clone()))
        .collect();
    let resumed_from =
        applied.iter().filter(|r| r.connection == 0).filter_map(|r| r.event_seq).max().unwrap_or(position);
    match how {
        CatchUp::Handshake => {
            assert_eq!(after_close, stored, "exactly the missed events, then the live ones, in order");
            // The missed events came before `ready`, and only newer (live) ones after it.
            let ready_at =
                entries.iter().position(|e| matches!(e, Entry::Ready { client: 0, connection: 1, .. })).unwrap();
            let Entry::Ready { event_seq: ready_seq, .. } = entries[ready_at] else { unreachable!() };
            let before_ready: HashSet<i64> = entries[..ready_at]
                .iter()
                .filter_map(|e| match e {
                    Entry::Received(r) if r.client == 0 && r.connection == 1 => r.event_seq,
                    _ => None,
                })
                .collect();
            let missed: Vec<i64> =
                stored.iter().map(|e| e.0).filter(|s| *s > resumed_from && *s <= ready_seq).collect();
            assert!(
                missed.len() + usize::try_from(resumed_from - position).unwrap_or(0) >= missed_count,
                "{} missed events, {missed_count} messages",
                missed.len()
            );
            assert!(missed.iter().all(|s| before_ready.contains(s)), "a missed event came after ready");
            assert!(
                entries[ready_at..].iter().all(|e| match e {
                    Entry::Received(r) if r.client == 0 && r.connection == 1 =>
                        r.event_seq.is_none_or(|s| s > ready_seq || before_ready.contains(&s)),
                    _ => true,
                }),
                "an event older than ready arrived after it without having been replayed"
            );
        }
        CatchUp::Sync => {
            assert!(synced.len() >= missed_count, "sync returned {} events for {missed_count} missed", synced.len());
            assert!(synced.windows(2).all(|w| w[0].0 < w[1].0), "sync answers in order");
            let mut union: Vec<(i64, String)> = synced.clone();
            union.extend(after_close.iter().filter(|e| !synced.iter().any(|s| s.0 == e.0)).cloned());
            union.sort();
            assert_eq!(union, stored, "sync answers plus live events are exactly the stored stream");
        }
    }
    if how == CatchUp::Handshake {
        let report = check(&scene.history.entries(), &scene.observed().await);
        println!("reconnect after {outage:?}: {report}");
        assert!(report.is_clean(), "{report}");
    }
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_for_1_s_catches_up_exactly_with_after_event_seq() {
    offline_while_others_send(Duration::from_secs(1), CatchUp::Handshake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_for_1_s_catches_up_exactly_with_sync() {
    offline_while_others_send(Duration::from_secs(1), CatchUp::Sync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_for_30_s_catches_up_exactly_with_after_event_seq() {
    offline_while_others_send(Duration::from_secs(30), CatchUp::Handshake).await;
}

#[tokio::test]
async fn a_pruned_position_gets_resync_required_instead_of_a_silent_gap() {
    let app = spawn_app().await;
    let (alice, bob) = (TestUser::new("alice"), TestUser::new("bob"));
    app.touch(&alice).await;
    let mut b = app.socket(&bob).await;
    app.send_to(&alice, &bob, "kept for a while").await;
    let position = b.next("message.created").await["eventSeq"].as_i64().unwrap();
    b.close().await;
    app.send_to(&alice, &bob, "missed 1").await;
    app.send_to(&alice, &bob, "missed 2").await;

    // Everything recorded until now is pruned, as the server's retention does by age (through the same
    // repository port, so that the moment is exact).
    let pruned = app.state.chat().repositories().events.prune(chrono::Utc::now() + chrono::Duration::seconds(1)).await;
    assert!(pruned.unwrap() >= 3);
    let last = app.send_to(&alice, &bob, "after pruning").await;

    // Reconnecting from the pruned position: told to resync, and no partial replay.
    let mut b = TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": position }), None)
        .await
        .unwrap();
    let resync = b.next("resync.required").await;
    let latest = b.ready["eventSeq"].as_i64().unwrap();
    assert_eq!(resync["eventSeq"].as_i64(), Some(latest), "{resync}");
    assert!(b.try_next("message.created", Duration::from_millis(300)).await.is_none(), "a gap was replayed");

    // The same through the socket and REST `sync`.
    let ack = b.ack("sync", json!({ "afterEventSeq": position })).await;
    assert_eq!(ack["data"]["resyncRequired"], true, "{ack}");
    assert_eq!(ack["data"]["events"], json!([]), "{ack}");
    let (status, page) = app.get(&bob, &format!("/api/chat/sync?afterEventSeq={position}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["resyncRequired"], true, "{page}");
    assert_eq!(page["eventSeq"].as_i64(), Some(latest));

    // After reloading over REST the client continues from the position it was given.
    let (status, history) =
        app.get(&bob, &format!("/api/chat/conversations/{}/messages", last["conversationId"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["items"].as_array().unwrap().len(), 4, "the messages themselves are not pruned");
    let ack = b.ack("sync", json!({ "afterEventSeq": latest })).await;
    assert_eq!(ack["data"]["resyncRequired"], false, "{ack}");
    app.send_to(&alice, &bob, "live again").await;
    assert_eq!(b.next("message.created").await["data"]["text"], "live again");
}

#[tokio::test]
async fn a_position_older_than_the_configured_retention_gets_resync_required() {
    let app = spawn_app_with(|c| c.event_retention = Some(Duration::from_secs(1))).await;
    let (alice, bob) = (TestUser::new("alice"), TestUser::new("bob"));
    app.touch(&alice).await;
    let mut b = app.socket(&bob).await;
    app.send_to(&alice, &bob, "soon pruned").await;
    let position = b.next("message.created").await["eventSeq"].as_i64().unwrap();
    b.close().await;
    app.send_to(&alice, &bob, "missed").await;

    // The server prunes by itself (every second with this retention): wait until the position is gone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let (status, page) = app.get(&bob, &format!("/api/chat/sync?afterEventSeq={position}")).await;
        assert_eq!(status, 200, "{page}");
        if page["resyncRequired"] == true {
            assert_eq!(page["events"], json!([]), "{page}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "events past the retention were never pruned: {page}");
    }
    let mut b = TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": position }), None)
        .await
        .unwrap();
    assert_eq!(b.next("resync.required").await["eventSeq"], b.ready["eventSeq"]);
    assert!(b.try_next("message.created", Duration::from_millis(300)).await.is_none(), "a gap was replayed");
}

#[tokio::test]
async fn another_users_position_reveals_nothing_of_theirs() {
    let app = spawn_app().await;
    let (alice, bob, carol, dave) =
        (TestUser::new("alice"), TestUser::new("bob"), TestUser::new("carol"), TestUser::new("dave"));
    for u in [&alice, &bob, &carol, &dave] {
        app.touch(u).await;
    }
    // Carol and Dave talk privately; their streams grow well past Bob's.
    let mut private = None;
    for i in 0..8 {
        let m = app.send_to(&carol, &dave, &format!("private {i}")).await;
        private = Some(m["conversationId"].as_str().unwrap().to_owned());
        app.send_to(&dave, &carol, &format!("private reply {i}")).await;
    }
    let private = private.unwrap();
    let bobs = app.send_to(&alice, &bob, "for bob").await["conversationId"].as_str().map(str::to_owned);
    let c = app.socket(&carol).await;
    let carol_position = c.ready["eventSeq"].as_i64().unwrap();
    c.close().await;
    let b = app.socket(&bob).await;
    let bob_latest = b.ready["eventSeq"].as_i64().unwrap();
    b.close().await;
    assert!(carol_position > bob_latest, "Carol {carol_position}, Bob {bob_latest}");

    // Bob presents Carol's position: told to resync at his own position, shown nothing.
    let mut b =
        TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": carol_position }), None)
            .await
            .unwrap();
    let resync = b.next("resync.required").await;
    assert_eq!(resync["eventSeq"].as_i64(), Some(bob_latest), "{resync}");
    assert!(b.try_next("message.created", Duration::from_millis(300)).await.is_none());
    let (status, page) = app.get(&bob, &format!("/api/chat/sync?afterEventSeq={carol_position}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!((page["resyncRequired"].clone(), page["events"].clone()), (json!(true), json!([])), "{page}");
    assert_eq!(page["eventSeq"].as_i64(), Some(bob_latest), "the answer carries Bob's position, not Carol's");

    // Any position below his own shows Bob his own stream only.
    for after in [0, 1, bob_latest - 1] {
        let ack = b.ack("sync", json!({ "afterEventSeq": after.max(0) })).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let text = ack.to_string();
        assert!(!text.contains(&private) && !text.contains("private"), "Carol's conversation leaked: {ack}");
        for e in ack["data"]["events"].as_array().unwrap() {
            assert_eq!(e["data"]["conversationId"].as_str().map(str::to_owned), bobs, "{e}");
        }
    }
}
