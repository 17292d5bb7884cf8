//! Histories of what load clients did and saw, and a checker that finds what SPEC §9 forbids in them (the
//! idea of Jepsen's set checker: record every operation, then compare with what the database holds).
//!
//! Clients append to a shared [`History`]: every send attempt (invoked, acknowledged or failed, with its
//! `clientMessageId`), every event received (raw, before any de-duplication) and every `ready`. After the
//! run the test reads the database back through the REST API ([`Observed`]) and [`check`] reports:
//!
//! - **lost**: an acknowledged message missing from the database, or a stored message missing from a
//!   member's received stream (after the client's catch-up);
//! - **duplicated**: a `clientMessageId` stored twice, or one message applied twice by a client after
//!   the `eventSeq` de-duplication every client does (raw redeliveries of one `eventSeq` are at-least-once
//!   delivery working as documented, so they are counted, not failed);
//! - **unexpected**: received or stored but never sent;
//! - **out of order / holes**: a member's per-conversation `seq`s not going 1, 2, 3, …;
//! - **unread**: a member's unread count differing from the count of others' messages after their read
//!   watermark.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;

use serde_json::Value;
use uuid::Uuid;

/// What one client did or saw, in the order it happened for that client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A send attempt starts (retries of one message reuse its `client_message_id`).
    SendInvoked {
        /// Which client.
        client: usize,
        /// The sending user.
        user: Uuid,
        /// The target conversation.
        conversation: Uuid,
        /// The idempotency key.
        client_message_id: String,
    },
    /// The server acknowledged a send with the stored message.
    SendAcked {
        /// Which client.
        client: usize,
        /// The sending user.
        user: Uuid,
        /// The conversation the acknowledgement names.
        conversation: Uuid,
        /// The idempotency key.
        client_message_id: String,
        /// The stored message's id.
        message_id: Uuid,
        /// The stored message's `seq`.
        seq: i64,
    },
    /// A send attempt failed (an error acknowledgement, a timeout, a closed transport); the client may
    /// retry with the same key.
    SendFailed {
        /// Which client.
        client: usize,
        /// The idempotency key.
        client_message_id: String,
        /// Why, for the report.
        reason: String,
    },
    /// A connection of a client received `ready` (`connection` counts a client's connections from 0).
    Ready {
        /// Which client.
        client: usize,
        /// Which of its connections.
        connection: u32,
        /// The position `ready` announced.
        event_seq: i64,
    },
    /// An event arrived on a connection.
    Received(Received),
    /// The server acknowledged `conversation.read` up to a message.
    ReadAcked {
        /// Which client.
        client: usize,
        /// The reading user.
        user: Uuid,
        /// The conversation.
        conversation: Uuid,
        /// The `seq` of the message read up to.
        up_to_seq: i64,
    },
}

/// One event as a client received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Which client.
    pub client: usize,
    /// Which of its connections.
    pub connection: u32,
    /// The event's name.
    pub event: String,
    /// The envelope's `eventSeq` (absent for ephemeral events).
    pub event_seq: Option<i64>,
    /// `data.conversationId`.
    pub conversation: Option<Uuid>,
    /// `data.seq` (messages).
    pub seq: Option<i64>,
    /// `data.id` (messages).
    pub message_id: Option<Uuid>,
    /// `data.clientMessageId` (messages).
    pub client_message_id: Option<String>,
    /// `data.senderId` (messages).
    pub sender: Option<Uuid>,
}

impl Received {
    /// Reads the fields the checker needs from an event envelope `{ eventSeq, type, data }`.
    pub fn from_envelope(client: usize, connection: u32, event: &str, envelope: &Value) -> Self {
        let data = &envelope["data"];
        let uuid = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
        Self {
            client,
            connection,
            event: event.to_owned(),
            // Only envelopes (`{ eventSeq, type, data }`) are stored events; `resync.required` carries an
            // `eventSeq` of its own that is not an event's position.
            event_seq: envelope.get("type").and_then(|_| envelope["eventSeq"].as_i64()),
            conversation: uuid(&data["conversationId"]),
            seq: data["seq"].as_i64(),
            message_id: if event == "message.created" || event == "message.updated" { uuid(&data["id"]) } else { None },
            client_message_id: data["clientMessageId"].as_str().map(str::to_owned),
            sender: uuid(&data["senderId"]),
        }
    }
}

/// A history shared by the clients of a run (append-only).
#[derive(Debug, Default)]
pub struct History {
    entries: Mutex<Vec<Entry>>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry.
    pub fn push(&self, entry: Entry) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry);
    }

    /// A copy of every entry so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// A message as the REST API returns it after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Message id.
    pub id: Uuid,
    /// Its conversation.
    pub conversation: Uuid,
    /// Its `seq`.
    pub seq: i64,
    /// Who sent it.
    pub sender: Uuid,
    /// Its idempotency key, if it had one.
    pub client_message_id: Option<String>,
    /// Deleted for everyone.
    pub deleted: bool,
}

/// One member's side of a conversation as the REST API returns it after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideObservation {
    /// The member.
    pub user: Uuid,
    /// The conversation.
    pub conversation: Uuid,
    /// `unreadCount`.
    pub unread_count: i64,
    /// `readSeq` (the read watermark).
    pub read_seq: i64,
}

/// What the run's clients are and what the database holds after it.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Which user each client is.
    pub clients: BTreeMap<usize, Uuid>,
    /// Members of each conversation: each must receive every message of it.
    pub members: BTreeMap<Uuid, BTreeSet<Uuid>>,
    /// Every stored message of those conversations.
    pub stored: Vec<StoredMessage>,
    /// Every member's side of every conversation.
    pub sides: Vec<SideObservation>,
}

/// What [`check`] found. Counts describe the run; the lists are anomalies (empty on a correct run).
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Send attempts, retries included.
    pub attempts: usize,
    /// Distinct messages sent (distinct keys).
    pub sends: usize,
    /// Distinct messages acknowledged.
    pub acknowledged: usize,
    /// Failed attempts (each was retried or given up).
    pub failed_attempts: usize,
    /// Messages never acknowledged (given up).
    pub unacknowledged: usize,
    /// Messages in the database.
    pub stored: usize,
    /// `message.created` events received, raw.
    pub deliveries_raw: usize,
    /// `message.created` events applied after de-duplication by `eventSeq`.
    pub deliveries_applied: usize,
    /// Events received again with an `eventSeq` the client already had (dropped by the de-duplication;
    /// allowed: delivery is at-least-once).
    pub raw_redeliveries: usize,
    /// Acknowledged (or delivered) but not in the database.
    pub lost_in_store: Vec<String>,
    /// Stored but missing from a member's received stream.
    pub lost_in_stream: Vec<String>,
    /// A key stored as more than one message.
    pub duplicated_in_store: Vec<String>,
    /// One message applied twice by a client after de-duplication by `eventSeq`.
    pub duplicated_deliveries: Vec<String>,
    /// Acknowledgements that disagree with each other or with the database.
    pub inconsistent_acks: Vec<String>,
    /// Received or stored but never sent.
    pub unexpected: Vec<String>,
    /// A `seq` (or `eventSeq`) that went back.
    pub out_of_order: Vec<String>,
    /// A `seq` that skipped ahead (in a member's stream or in the database).
    pub holes: Vec<String>,
    /// Unread counts or read watermarks that break the domain's rule.
    pub unread: Vec<String>,
}

impl CheckReport {
    /// Lost messages (store and streams).
    pub fn lost(&self) -> usize {
        self.lost_in_store.len() + self.lost_in_stream.len()
    }

    /// Duplicates that count as failures (store and applied streams).
    pub fn duplicated(&self) -> usize {
        self.duplicated_in_store.len() + self.duplicated_deliveries.len()
    }

    /// Order failures (out of order and holes).
    pub fn disordered(&self) -> usize {
        self.out_of_order.len() + self.holes.len()
    }

    /// Every anomaly.
    pub fn anomalies(&self) -> usize {
        self.lost()
            + self.duplicated()
            + self.disordered()
            + self.inconsistent_acks.len()
            + self.unexpected.len()
            + self.unread.len()
    }

    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.anomalies() == 0
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sends {} (attempts {}, failed attempts {}), acknowledged {}, unacknowledged {}, stored {}",
            self.sends, self.attempts, self.failed_attempts, self.acknowledged, self.unacknowledged, self.stored
        )?;
        writeln!(
            f,
            "deliveries raw {}, applied {}, raw redeliveries {} (de-duplicated by eventSeq)",
            self.deliveries_raw, self.deliveries_applied, self.raw_redeliveries
        )?;
        write!(
            f,
            "lost {}, duplicated {} (after de-dup), out of order {}, holes {}, unexpected {}, inconsistent acks {}, \
             unread {}",
            self.lost(),
            self.duplicated(),
            self.out_of_order.len(),
            self.holes.len(),
            self.unexpected.len(),
            self.inconsistent_acks.len(),
            self.unread.len()
        )?;
        let lists = [
            ("lost in store", &self.lost_in_store),
            ("lost in stream", &self.lost_in_stream),
            ("duplicated in store", &self.duplicated_in_store),
            ("duplicated deliveries", &self.duplicated_deliveries),
            ("inconsistent acks", &self.inconsistent_acks),
            ("unexpected", &self.unexpected),
            ("out of order", &self.out_of_order),
            ("holes", &self.holes),
            ("unread", &self.unread),
        ];
        for (name, list) in lists {
            for item in list.iter().take(10) {
                write!(f, "\n  {name}: {item}")?;
            }
            if list.len() > 10 {
                write!(f, "\n  {name}: … {} more", list.len() - 10)?;
            }
        }
        Ok(())
    }
}

/// An acknowledgement: message id, conversation, `seq`.
type Ack = (Uuid, Uuid, i64);

/// A client's receive stream, split by connection, each with the index of its `ready` (if it came).
struct Connection<'a> {
    events: Vec<&'a Received>,
    ready_at: Option<usize>,
}

/// The events a client applies, in order: on each connection, what arrived before `ready` sorted by
/// `eventSeq` (replayed and live events may interleave there), then what came after in arrival order,
/// dropping every event whose `eventSeq` is not above the last one applied. Returns the applied events
/// and, for the report, redeliveries and late arrivals.
fn apply_stream<'a>(
    client: usize,
    connections: BTreeMap<u32, Connection<'a>>,
    report: &mut CheckReport,
) -> Vec<&'a Received> {
    let mut applied = Vec::new();
    let mut seen: HashSet<i64> = HashSet::new();
    let mut last = i64::MIN;
    for (_, connection) in connections {
        let split = connection.ready_at.unwrap_or(connection.events.len());
        let mut before: Vec<&Received> = connection.events[..split].to_vec();
        before.sort_by_key(|e| e.event_seq.unwrap_or(i64::MIN));
        for event in before.into_iter().chain(connection.events[split..].iter().copied()) {
            let Some(event_seq) = event.event_seq else { continue };
            if !seen.insert(event_seq) {
                report.raw_redeliveries += 1;
                continue;
            }
            if event_seq <= last {
                report
                    .out_of_order
                    .push(format!("client {client}: eventSeq {event_seq} ({}) arrived after {last}", event.event));
                continue;
            }
            last = event_seq;
            applied.push(event);
        }
    }
    applied
}

/// The events client `client` applies, in order, after the de-duplication every client does (see
/// [`check`]), with the connection each came on.
pub fn applied_stream(entries: &[Entry], client: usize) -> Vec<Received> {
    let mut connections: BTreeMap<u32, Connection<'_>> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Ready { client: c, connection, .. } if *c == client => {
                let conn =
                    connections.entry(*connection).or_insert_with(|| Connection { events: Vec::new(), ready_at: None });
                conn.ready_at.get_or_insert(conn.events.len());
            }
            Entry::Received(r) if r.client == client => connections
                .entry(r.connection)
                .or_insert_with(|| Connection { events: Vec::new(), ready_at: None })
                .events
                .push(r),
            _ => {}
        }
    }
    apply_stream(client, connections, &mut CheckReport::default()).into_iter().cloned().collect()
}

/// Compares a run's history with what the database holds (see the module docs).
pub fn check(entries: &[Entry], observed: &Observed) -> CheckReport {
    let mut report = CheckReport::default();

    // Sends, by (sender, key).
    let mut invoked: HashMap<(Uuid, &str), Uuid> = HashMap::new();
    let mut acked: BTreeMap<(Uuid, &str), Vec<Ack>> = BTreeMap::new();
    let mut reads: HashMap<(Uuid, Uuid), i64> = HashMap::new();
    let mut own_sent: HashMap<(Uuid, Uuid), i64> = HashMap::new();
    let mut streams: BTreeMap<usize, BTreeMap<u32, Connection<'_>>> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::SendInvoked { user, conversation, client_message_id, .. } => {
                report.attempts += 1;
                invoked.insert((*user, client_message_id.as_str()), *conversation);
            }
            Entry::SendAcked { user, conversation, client_message_id, message_id, seq, .. } => {
                acked.entry((*user, client_message_id.as_str())).or_default().push((*message_id, *conversation, *seq));
                let own = own_sent.entry((*user, *conversation)).or_default();
                *own = (*own).max(*seq);
            }
            Entry::SendFailed { .. } => report.failed_attempts += 1,
            Entry::Ready { client, connection, .. } => {
                let c = streams
                    .entry(*client)
                    .or_default()
                    .entry(*connection)
                    .or_insert_with(|| Connection { events: Vec::new(), ready_at: None });
                c.ready_at.get_or_insert(c.events.len());
            }
            Entry::Received(received) => {
                streams
                    .entry(received.client)
                    .or_default()
                    .entry(received.connection)
                    .or_insert_with(|| Connection { events: Vec::new(), ready_at: None })
                    .events
                    .push(received);
            }
            Entry::ReadAcked { user, conversation, up_to_seq, .. } => {
                let read = reads.entry((*user, *conversation)).or_default();
                *read = (*read).max(*up_to_seq);
            }
        }
    }
    report.sends = invoked.len();
    report.acknowledged = acked.len();
    report.unacknowledged = invoked.keys().filter(|k| !acked.contains_key(*k)).count();

    // The database: keys stored once, `seq`s 1..=n per conversation, nothing that was never sent.
    report.stored = observed.stored.len();
    let by_id: HashMap<Uuid, &StoredMessage> = observed.stored.iter().map(|m| (m.id, m)).collect();
    let mut by_key: BTreeMap<(Uuid, &str), Vec<Uuid>> = BTreeMap::new();
    let mut seqs: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for message in &observed.stored {
        seqs.entry(message.conversation).or_default().push(message.seq);
        match message.client_message_id.as_deref() {
            Some(key) => {
                by_key.entry((message.sender, key)).or_default().push(message.id);
                if !invoked.contains_key(&(message.sender, key)) {
                    report.unexpected.push(format!("stored message {} (key {key}) was never sent", message.id));
                }
            }
            None => report.unexpected.push(format!("stored message {} has no clientMessageId", message.id)),
        }
    }
    for ((sender, key), ids) in &by_key {
        if ids.len() > 1 {
            report.duplicated_in_store.push(format!("key {key} of {sender} stored {} times: {ids:?}", ids.len()));
        }
    }
    for (conversation, mut list) in seqs {
        list.sort_unstable();
        let mut expected = 1;
        for seq in list {
            if seq < expected {
                report.out_of_order.push(format!("conversation {conversation}: seq {seq} stored twice"));
            } else if seq > expected {
                report
                    .holes
                    .push(format!("conversation {conversation}: stored seqs jump from {} to {seq}", expected - 1));
            }
            expected = seq + 1;
        }
    }

    // Acknowledgements agree with each other and with the database.
    for ((sender, key), acks) in &acked {
        let (id, conversation, seq) = acks[0];
        if acks.iter().any(|a| a.0 != id) {
            report
                .inconsistent_acks
                .push(format!("key {key} of {sender} acknowledged as different messages: {acks:?}"));
        }
        match by_id.get(&id) {
            None => report.lost_in_store.push(format!("acknowledged message {id} (key {key}) is not stored")),
            Some(m) if m.conversation != conversation || m.seq != seq || m.sender != *sender => {
                report.inconsistent_acks.push(format!(
                    "key {key}: acknowledged as {conversation}#{seq}, stored as {}#{} from {}",
                    m.conversation, m.seq, m.sender
                ));
            }
            Some(_) => {}
        }
    }

    // Each client's applied stream: no duplicates, per-conversation seqs one by one, nothing unexpected.
    let mut applied_ids: BTreeMap<usize, HashSet<Uuid>> = BTreeMap::new();
    for (client, connections) in streams {
        report.deliveries_raw +=
            connections.values().flat_map(|c| c.events.iter()).filter(|e| e.event == "message.created").count();
        let applied = apply_stream(client, connections, &mut report);
        let ids = applied_ids.entry(client).or_default();
        let mut last_seq: HashMap<Uuid, i64> = HashMap::new();
        for event in applied.into_iter().filter(|e| e.event == "message.created") {
            report.deliveries_applied += 1;
            let (Some(id), Some(conversation), Some(seq)) = (event.message_id, event.conversation, event.seq) else {
                report.unexpected.push(format!("client {client}: a message.created without id, conversation or seq"));
                continue;
            };
            if !ids.insert(id) {
                report.duplicated_deliveries.push(format!(
                    "client {client}: message {id} applied twice (second time as eventSeq {:?})",
                    event.event_seq
                ));
                continue;
            }
            if !by_id.contains_key(&id) {
                let key = event.client_message_id.as_deref().unwrap_or("");
                match event.sender {
                    Some(sender) if invoked.contains_key(&(sender, key)) => report
                        .lost_in_store
                        .push(format!("client {client}: delivered message {id} (key {key}) is not stored")),
                    _ => report.unexpected.push(format!("client {client}: received message {id} that was never sent")),
                }
            }
            let last = last_seq.entry(conversation).or_insert(0);
            if seq <= *last {
                report
                    .out_of_order
                    .push(format!("client {client}: conversation {conversation} seq {seq} after {last}"));
            } else {
                if seq > *last + 1 {
                    report.holes.push(format!("client {client}: conversation {conversation} seq {seq} after {last}"));
                }
                *last = seq;
            }
        }
    }

    // Completeness: every stored message reached every client of every member of its conversation.
    let mut stored_by_conversation: BTreeMap<Uuid, Vec<&StoredMessage>> = BTreeMap::new();
    for message in &observed.stored {
        stored_by_conversation.entry(message.conversation).or_default().push(message);
    }
    for (client, user) in &observed.clients {
        let empty = HashSet::new();
        let ids = applied_ids.get(client).unwrap_or(&empty);
        for (conversation, members) in &observed.members {
            if !members.contains(user) {
                continue;
            }
            for message in stored_by_conversation.get(conversation).into_iter().flatten() {
                if !ids.contains(&message.id) {
                    report.lost_in_stream.push(format!(
                        "client {client}: never received message {} ({conversation}#{})",
                        message.id, message.seq
                    ));
                }
            }
        }
    }

    // Unread: others' visible messages after the read watermark, for every member of every conversation.
    let sides: HashMap<(Uuid, Uuid), &SideObservation> =
        observed.sides.iter().map(|s| ((s.user, s.conversation), s)).collect();
    for (conversation, members) in &observed.members {
        for user in members {
            let Some(side) = sides.get(&(*user, *conversation)) else {
                report.unread.push(format!("{user} in {conversation}: no side observed"));
                continue;
            };
            let expected = stored_by_conversation
                .get(conversation)
                .into_iter()
                .flatten()
                .filter(|m| m.sender != *user && m.seq > side.read_seq && !m.deleted)
                .count();
            if i64::try_from(expected).unwrap_or(i64::MAX) != side.unread_count {
                report.unread.push(format!(
                    "{user} in {conversation}: unread {} but {expected} others' messages after readSeq {}",
                    side.unread_count, side.read_seq
                ));
            }
            let floor = reads.get(&(*user, *conversation)).copied().unwrap_or(0);
            let own = own_sent.get(&(*user, *conversation)).copied().unwrap_or(0);
            if side.read_seq < floor.max(own) {
                report.unread.push(format!(
                    "{user} in {conversation}: readSeq {} below what was read ({floor}) or sent ({own})",
                    side.read_seq
                ));
            }
        }
    }
    report
}
