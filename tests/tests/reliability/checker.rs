//! The history checker finds each anomaly on synthetic histories (so a clean report means something).

use std::collections::{BTreeMap, BTreeSet};

use chat_tests::history::{Entry, Observed, Received, SideObservation, StoredMessage, applied_stream, check};
use uuid::Uuid;

/// Two users in one conversation; client 0 is Alice, client 1 is Bob.
struct World {
    alice: Uuid,
    bob: Uuid,
    conversation: Uuid,
}

impl World {
    fn new() -> Self {
        Self { alice: Uuid::new_v4(), bob: Uuid::new_v4(), conversation: Uuid::new_v4() }
    }

    fn message(&self, seq: i64, key: &str) -> StoredMessage {
        StoredMessage {
            id: Uuid::new_v4(),
            conversation: self.conversation,
            seq,
            sender: self.alice,
            client_message_id: Some(key.to_owned()),
            deleted: false,
        }
    }

    fn sent(&self, m: &StoredMessage) -> [Entry; 2] {
        let key = m.client_message_id.clone().unwrap();
        [
            Entry::SendInvoked {
                client: 0,
                user: self.alice,
                conversation: self.conversation,
                client_message_id: key.clone(),
            },
            Entry::SendAcked {
                client: 0,
                user: self.alice,
                conversation: self.conversation,
                client_message_id: key,
                message_id: m.id,
                seq: m.seq,
            },
        ]
    }

    fn delivered(&self, client: usize, connection: u32, event_seq: i64, m: &StoredMessage) -> Entry {
        Entry::Received(Received {
            client,
            connection,
            event: "message.created".to_owned(),
            event_seq: Some(event_seq),
            conversation: Some(m.conversation),
            seq: Some(m.seq),
            message_id: Some(m.id),
            client_message_id: m.client_message_id.clone(),
            sender: Some(m.sender),
        })
    }

    fn ready(client: usize, connection: u32) -> Entry {
        Entry::Ready { client, connection, event_seq: 0 }
    }

    /// What the database holds: `stored`, with Bob's unread count as given and Alice's at 0.
    fn observed(&self, stored: &[StoredMessage], bob_unread: i64) -> Observed {
        let top = stored.iter().map(|m| m.seq).max().unwrap_or(0);
        Observed {
            clients: BTreeMap::from([(0, self.alice), (1, self.bob)]),
            members: BTreeMap::from([(self.conversation, BTreeSet::from([self.alice, self.bob]))]),
            stored: stored.to_vec(),
            sides: vec![
                SideObservation { user: self.alice, conversation: self.conversation, unread_count: 0, read_seq: top },
                SideObservation {
                    user: self.bob,
                    conversation: self.conversation,
                    unread_count: bob_unread,
                    read_seq: 0,
                },
            ],
        }
    }

    /// A correct history of `n` messages: sent, acknowledged and delivered once to both clients.
    fn clean(&self, n: i64) -> (Vec<Entry>, Vec<StoredMessage>) {
        let stored: Vec<StoredMessage> = (1..=n).map(|s| self.message(s, &format!("k{s}"))).collect();
        let mut entries = vec![Self::ready(0, 0), Self::ready(1, 0)];
        for m in &stored {
            entries.extend(self.sent(m));
            entries.push(self.delivered(0, 0, m.seq, m));
            entries.push(self.delivered(1, 0, m.seq, m));
        }
        (entries, stored)
    }
}

#[test]
fn a_correct_history_is_clean() {
    let w = World::new();
    let (entries, stored) = w.clean(5);
    let report = check(&entries, &w.observed(&stored, 5));
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.sends, report.acknowledged, report.stored, report.deliveries_applied), (5, 5, 5, 10));
}

#[test]
fn an_acknowledged_message_missing_from_the_database_is_lost() {
    let w = World::new();
    let (entries, mut stored) = w.clean(3);
    stored.pop();
    let report = check(&entries, &w.observed(&stored, 2));
    assert_eq!(report.lost_in_store.len(), 1 + 2, "the ack and both deliveries name it: {report}");
    assert!(!report.is_clean());
}

#[test]
fn a_stored_message_a_member_never_received_is_lost() {
    let w = World::new();
    let (mut entries, stored) = w.clean(3);
    let last = entries.iter().rposition(|e| matches!(e, Entry::Received(r) if r.client == 1)).unwrap();
    entries.remove(last);
    let report = check(&entries, &w.observed(&stored, 3));
    assert_eq!(report.lost_in_stream.len(), 1, "{report}");
    assert_eq!(report.lost(), 1);
}

#[test]
fn a_key_stored_twice_is_a_duplicate() {
    let w = World::new();
    let (entries, mut stored) = w.clean(2);
    let mut again = w.message(3, "k2");
    again.id = Uuid::new_v4();
    stored.push(again);
    let report = check(&entries, &w.observed(&stored, 3));
    assert_eq!(report.duplicated_in_store.len(), 1, "{report}");
    // The copy also never reached anyone.
    assert_eq!(report.lost_in_stream.len(), 2);
}

#[test]
fn a_redelivered_event_is_counted_raw_and_dropped_by_event_seq() {
    let w = World::new();
    let (mut entries, stored) = w.clean(2);
    // Reconnect: the replay repeats message 2 under its eventSeq before ready.
    entries.push(w.delivered(1, 1, 2, &stored[1]));
    entries.push(World::ready(1, 1));
    let report = check(&entries, &w.observed(&stored, 2));
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.raw_redeliveries, 1);
    assert_eq!(report.deliveries_raw, 5);
    assert_eq!(report.deliveries_applied, 4);
}

#[test]
fn one_message_under_two_event_seqs_is_a_duplicate_after_de_duplication() {
    let w = World::new();
    let (mut entries, stored) = w.clean(2);
    entries.push(w.delivered(1, 0, 7, &stored[1]));
    let report = check(&entries, &w.observed(&stored, 2));
    assert_eq!(report.duplicated_deliveries.len(), 1, "{report}");
    assert_eq!(report.duplicated(), 1);
}

#[test]
fn a_message_nobody_sent_is_unexpected() {
    let w = World::new();
    let (mut entries, stored) = w.clean(2);
    let stranger = w.message(9, "never-sent");
    entries.push(w.delivered(1, 0, 3, &stranger));
    let report = check(&entries, &w.observed(&stored, 2));
    assert_eq!(report.unexpected.len(), 1, "{report}");
    let mut with_stranger = stored.clone();
    with_stranger.push(w.message(3, "never-sent"));
    let report = check(&w.clean(2).0, &w.observed(&with_stranger, 3));
    assert!(report.unexpected.iter().any(|u| u.contains("never sent")), "{report}");
}

#[test]
fn seqs_that_go_back_or_skip_are_out_of_order_and_holes() {
    let w = World::new();
    let stored: Vec<StoredMessage> = (1..=3).map(|s| w.message(s, &format!("k{s}"))).collect();
    let mut entries = vec![World::ready(0, 0), World::ready(1, 0)];
    for m in &stored {
        entries.extend(w.sent(m));
        entries.push(w.delivered(0, 0, m.seq, m));
    }
    // Bob gets seq 1, 3, then 2 under growing eventSeqs.
    entries.push(w.delivered(1, 0, 1, &stored[0]));
    entries.push(w.delivered(1, 0, 2, &stored[2]));
    entries.push(w.delivered(1, 0, 3, &stored[1]));
    let report = check(&entries, &w.observed(&stored, 3));
    assert_eq!(report.holes.len(), 1, "{report}");
    assert_eq!(report.out_of_order.len(), 1, "{report}");

    // A hole in the database itself.
    let mut gap = stored.clone();
    gap[2].seq = 4;
    let report = check(&entries, &w.observed(&gap, 3));
    assert!(report.holes.iter().any(|h| h.contains("stored seqs")), "{report}");

    // eventSeqs may skip (they grow, not necessarily by one): that alone is no anomaly.
    let (mut entries, stored) = w.clean(2);
    let late = w.message(3, "k3");
    entries.extend(w.sent(&late));
    entries.push(w.delivered(0, 0, 3, &late));
    entries.push(w.delivered(1, 0, 4, &late));
    let mut more = stored;
    more.push(late);
    let report = check(&entries, &w.observed(&more, 3));
    assert!(report.is_clean(), "{report}");
}

#[test]
fn replayed_and_live_events_interleaved_before_ready_are_applied_in_event_seq_order() {
    let w = World::new();
    let stored: Vec<StoredMessage> = (1..=3).map(|s| w.message(s, &format!("k{s}"))).collect();
    let mut entries = vec![World::ready(0, 0)];
    for m in &stored {
        entries.extend(w.sent(m));
        entries.push(w.delivered(0, 0, m.seq, m));
    }
    // Bob's connection: live 3 arrives before the replay of 1 and 2, all before ready.
    entries.push(w.delivered(1, 0, 3, &stored[2]));
    entries.push(w.delivered(1, 0, 1, &stored[0]));
    entries.push(w.delivered(1, 0, 2, &stored[1]));
    entries.push(World::ready(1, 0));
    let report = check(&entries, &w.observed(&stored, 3));
    assert!(report.is_clean(), "{report}");
    let seqs: Vec<i64> = applied_stream(&entries, 1).iter().filter_map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);

    // The same after ready is out of order.
    let mut late = entries.clone();
    let ready = late.iter().rposition(|e| matches!(e, Entry::Ready { client: 1, .. })).unwrap();
    let moved = late.remove(ready);
    late.insert(ready - 3, moved);
    let report = check(&late, &w.observed(&stored, 3));
    assert!(!report.out_of_order.is_empty(), "{report}");
}

#[test]
fn an_unread_count_that_disagrees_with_the_watermark_is_reported() {
    let w = World::new();
    let (entries, stored) = w.clean(4);
    let report = check(&entries, &w.observed(&stored, 3));
    assert_eq!(report.unread.len(), 1, "{report}");

    // A read receipt the server acknowledged must not be lost either.
    let (mut entries, stored) = w.clean(4);
    entries.push(Entry::ReadAcked { client: 1, user: w.bob, conversation: w.conversation, up_to_seq: 2 });
    let report = check(&entries, &w.observed(&stored, 4));
    assert_eq!(report.unread.len(), 1, "readSeq 0 is below the acknowledged 2: {report}");
}

#[test]
fn acknowledgements_that_disagree_are_inconsistent() {
    let w = World::new();
    let (mut entries, stored) = w.clean(2);
    entries.push(Entry::SendAcked {
        client: 0,
        user: w.alice,
        conversation: w.conversation,
        client_message_id: "k1".to_owned(),
        message_id: Uuid::new_v4(),
        seq: 1,
    });
    let report = check(&entries, &w.observed(&stored, 2));
    assert_eq!(report.inconsistent_acks.len(), 1, "{report}");
}
