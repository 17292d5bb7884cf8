//! What one group-commit batch keeps in memory between its units, to save round trips to the database.
//!
//! While a batch transaction is open the writer holds the database's write lock (SQLite `BEGIN IMMEDIATE`,
//! PostgreSQL's writer advisory lock, see ADR 0002), so no other writer can change a row the batch has
//! read. That makes three things safe for the lifetime of one batch, and only for it:
//!
//! - **counters** (`conversation_seqs.last_seq`, `user_streams.last_event_seq`): the first unit that
//!   touches a counter moves it in the database (`… RETURNING`), later units of the batch move it in
//!   memory, and the batch writes the final values back in one multi-row statement before it commits;
//! - **members** of a conversation: a unit that adds a side adds its user to them, one that removes a
//!   side (or purges the conversation) makes the next unit read them again;
//! - **append-only rows** (`events`, `user_events`, `receipts`): recorded in memory and inserted with
//!   multi-row statements before the commit; likewise SQLite's search-index entries of the batch's new
//!   and edited messages, which triggers note in `messages_fts_pending` (migration m0005). No unit of
//!   work reads them back (a purge drops the pending receipts of its conversation); jobs that may
//!   (pruning) run after a flush (see [`BatchState::flush`]).
//!
//! A unit of work never changes the batch state directly: it records its changes in a [`UnitDelta`], which
//! the writer merges only after the unit succeeded. A unit that fails is rolled back to its savepoint and
//! its delta is dropped, so both the database and the batch state forget it. Everything is written before
//! `COMMIT`, and nothing survives the batch: the next batch starts from the database again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement, Value};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use chat_domain::{EventSeq, RepositoryError, UserId};

use super::conn::Conn;
use super::migration::SEARCH_INDEX_FLUSH;
use super::sql::{rows as values_list, stmt};

/// A counter's key: (tenant, conversation) or (tenant, user).
pub(crate) type CounterKey = (Uuid, Uuid);

/// A counter's value in memory, and whether the database is behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counter {
    pub(crate) value: i64,
    pub(crate) dirty: bool,
}

/// One `events` row to insert.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub(crate) tenant: Uuid,
    pub(crate) id: Uuid,
    pub(crate) payload: serde_json::Value,
    pub(crate) at: DateTime<Utc>,
}

/// One `user_events` row (a recipient's position of an event) to insert.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserEventRow {
    pub(crate) tenant: Uuid,
    pub(crate) user: Uuid,
    pub(crate) seq: i64,
    pub(crate) event: Uuid,
    pub(crate) at: DateTime<Utc>,
}

/// One `receipts` row (a member's watermark moved) to insert.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceiptRow {
    pub(crate) tenant: Uuid,
    pub(crate) conversation: Uuid,
    pub(crate) user: Uuid,
    pub(crate) kind: &'static str,
    pub(crate) up_to: i64,
    pub(crate) at: DateTime<Utc>,
}

/// A unit of work's changes to the batch state, merged only if the unit succeeds.
#[derive(Debug, Default)]
pub(crate) struct UnitDelta {
    /// `None`: the unit deleted the counter row (a purge); the database is the truth again.
    pub(crate) seqs: HashMap<CounterKey, Option<Counter>>,
    pub(crate) streams: HashMap<CounterKey, Counter>,
    pub(crate) events: Vec<EventRow>,
    pub(crate) user_events: Vec<UserEventRow>,
    /// Members read (`Some`) or changed (`None`: read the database again) by the unit.
    pub(crate) members: HashMap<CounterKey, Option<Vec<UserId>>>,
    pub(crate) receipts: Vec<ReceiptRow>,
    /// Conversations the unit purged: earlier units' pending receipts of them are dropped.
    pub(crate) purged: Vec<CounterKey>,
    /// The unit inserted or updated messages, whose search-index entries SQLite's triggers left pending
    /// for the batch (migration m0005).
    pub(crate) messages_written: bool,
}

/// The most events one `events` row holds (ADR 0004), so that a catch-up page of rows stays bounded.
pub(crate) const MAX_EVENTS_PER_ROW: usize = 8;

impl UnitDelta {
    /// Records an event of this unit with one position row per recipient (`positions`, sorted by user).
    /// When the unit's previous event went to exactly these recipients at the same time and every
    /// recipient's new position directly follows its previous one, the event joins that row instead (its
    /// payload becomes an array, oldest first) and the position rows move to the new, last position: one
    /// `events` row and one `user_events` row per recipient for both (ADR 0004).
    pub(crate) fn record_event(
        &mut self,
        tenant: Uuid,
        positions: &[(UserId, EventSeq)],
        payload: JsonValue,
        at: DateTime<Utc>,
    ) {
        if self.join_last_event(tenant, positions, &payload, at) {
            return;
        }
        let id = Uuid::now_v7();
        self.events.push(EventRow { tenant, id, payload, at });
        self.user_events.extend(positions.iter().map(|(user, seq)| UserEventRow {
            tenant,
            user: user.as_uuid(),
            seq: seq.value(),
            event: id,
            at,
        }));
    }

    /// Adds `payload` to the unit's last event row when [`record_event`](Self::record_event) allows it.
    fn join_last_event(
        &mut self,
        tenant: Uuid,
        positions: &[(UserId, EventSeq)],
        payload: &JsonValue,
        at: DateTime<Utc>,
    ) -> bool {
        let Some(last) = self.events.last_mut() else { return false };
        let held = match &last.payload {
            JsonValue::Array(events) => events.len(),
            _ => 1,
        };
        if last.tenant != tenant || last.at != at || held >= MAX_EVENTS_PER_ROW || positions.is_empty() {
            return false;
        }
        let Some(start) = self.user_events.len().checked_sub(positions.len()) else { return false };
        // The last event's rows are the tail of `user_events`, all of them and only them.
        let (before, rows) = self.user_events.split_at_mut(start);
        if before.last().is_some_and(|r| r.event == last.id) {
            return false;
        }
        let follows = rows
            .iter()
            .zip(positions)
            .all(|(row, (user, seq))| row.event == last.id && row.user == user.as_uuid() && row.seq + 1 == seq.value());
        if !follows {
            return false;
        }
        for (row, (_, seq)) in rows.iter_mut().zip(positions) {
            row.seq = seq.value();
        }
        match &mut last.payload {
            JsonValue::Array(events) => events.push(payload.clone()),
            single => *single = JsonValue::Array(vec![single.take(), payload.clone()]),
        }
        true
    }

    /// The unit purged a conversation: its own pending receipts there go, and so will the batch's.
    pub(crate) fn purge(&mut self, key: CounterKey) {
        self.seqs.insert(key, None);
        self.members.insert(key, None);
        self.receipts.retain(|r| (r.tenant, r.conversation) != key);
        self.purged.push(key);
    }
}

/// The batch's counters and pending rows (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct BatchState {
    seqs: HashMap<CounterKey, Counter>,
    streams: HashMap<CounterKey, Counter>,
    events: Vec<EventRow>,
    user_events: Vec<UserEventRow>,
    members: HashMap<CounterKey, Vec<UserId>>,
    receipts: Vec<ReceiptRow>,
    /// Some unit inserted or updated messages: the search index has entries to take ([`UnitDelta`]).
    messages_written: bool,
}

impl BatchState {
    /// A conversation's members as the unit sees them; `None` when unknown or changed by the unit.
    pub(crate) fn members(&self, delta: &UnitDelta, key: CounterKey) -> Option<Vec<UserId>> {
        match delta.members.get(&key) {
            Some(own) => own.clone(),
            None => self.members.get(&key).cloned(),
        }
    }

    /// A conversation's `seq` counter as the unit sees it: its own change first, then the batch's.
    /// `None` when neither knows it (read the database).
    pub(crate) fn seq(&self, delta: &UnitDelta, key: CounterKey) -> Option<i64> {
        match delta.seqs.get(&key) {
            Some(own) => own.map(|c| c.value),
            None => self.seqs.get(&key).map(|c| c.value),
        }
    }

    /// A user's stream position as the unit sees it; `None` when unknown.
    pub(crate) fn stream(&self, delta: &UnitDelta, key: CounterKey) -> Option<i64> {
        delta.streams.get(&key).or_else(|| self.streams.get(&key)).map(|c| c.value)
    }

    /// Applies a successful unit's changes.
    pub(crate) fn merge(&mut self, delta: UnitDelta) {
        for (key, change) in delta.seqs {
            match change {
                Some(c) => merge_counter(&mut self.seqs, key, c),
                None => {
                    self.seqs.remove(&key);
                }
            }
        }
        for (key, c) in delta.streams {
            merge_counter(&mut self.streams, key, c);
        }
        self.events.extend(delta.events);
        self.user_events.extend(delta.user_events);
        for (key, members) in delta.members {
            match members {
                Some(m) => self.members.insert(key, m),
                None => self.members.remove(&key),
            };
        }
        if !delta.purged.is_empty() {
            self.receipts.retain(|r| !delta.purged.contains(&(r.tenant, r.conversation)));
        }
        self.receipts.extend(delta.receipts);
        self.messages_written |= delta.messages_written;
    }

    /// Writes everything the database is behind on (counters, pending rows) with multi-row statements and
    /// forgets the batch state. Runs before the commit, and before any job that reads or writes those
    /// tables without going through a unit's delta.
    pub(crate) async fn flush(&mut self, conn: &Conn<'_>) -> Result<(), RepositoryError> {
        let seqs: Vec<(CounterKey, i64)> =
            self.seqs.drain().filter(|(_, c)| c.dirty).map(|(k, c)| (k, c.value)).collect();
        let streams: Vec<(CounterKey, i64)> =
            self.streams.drain().filter(|(_, c)| c.dirty).map(|(k, c)| (k, c.value)).collect();
        let events = std::mem::take(&mut self.events);
        let user_events = std::mem::take(&mut self.user_events);
        let receipts = std::mem::take(&mut self.receipts);
        self.members.clear();
        let seqs = seqs.into_iter().map(|((t, c), v)| vec![t.into(), c.into(), v.into()]);
        insert_rows(
            conn,
            "INSERT INTO conversation_seqs (tenant_id, conversation_id, last_seq) VALUES",
            "ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET last_seq = excluded.last_seq",
            3,
            seqs,
        )
        .await?;
        let streams = streams.into_iter().map(|((t, u), v)| vec![t.into(), u.into(), v.into(), 0i64.into()]);
        insert_rows(
            conn,
            "INSERT INTO user_streams (tenant_id, user_id, last_event_seq, pruned_event_seq) VALUES",
            "ON CONFLICT (tenant_id, user_id) DO UPDATE SET last_event_seq = excluded.last_event_seq",
            4,
            streams,
        )
        .await?;
        let events = events
            .into_iter()
            .map(|e| vec![e.tenant.into(), e.id.into(), Value::Json(Some(Box::new(e.payload))), e.at.into()]);
        insert_rows(conn, "INSERT INTO events (tenant_id, id, payload, at) VALUES", "", 4, events).await?;
        let user_events = user_events
            .into_iter()
            .map(|r| vec![r.tenant.into(), r.user.into(), r.seq.into(), r.event.into(), r.at.into()]);
        insert_rows(
            conn,
            "INSERT INTO user_events (tenant_id, user_id, event_seq, event_id, at) VALUES",
            "",
            5,
            user_events,
        )
        .await?;
        let receipts = receipts.into_iter().map(|r| {
            vec![r.tenant.into(), r.conversation.into(), r.user.into(), r.kind.into(), r.up_to.into(), r.at.into()]
        });
        insert_rows(
            conn,
            "INSERT INTO receipts (tenant_id, conversation_id, user_id, kind, up_to_seq, at) VALUES",
            "ON CONFLICT DO NOTHING",
            6,
            receipts,
        )
        .await?;
        // SQLite's search index takes the batch's new and edited messages in one write (m0005).
        if std::mem::take(&mut self.messages_written) && conn.backend() == DbBackend::Sqlite {
            for sql in SEARCH_INDEX_FLUSH {
                conn.execute(Statement::from_string(DbBackend::Sqlite, sql)).await?;
            }
        }
        Ok(())
    }
}

/// Inserts `rows` (each `width` values) as `{head} (?, …), (?, …) {tail}`, in statements of at most 5,000
/// bound values: well under every backend's limit (SQLite: 32,766; PostgreSQL: 65,535).
async fn insert_rows(
    conn: &Conn<'_>,
    head: &str,
    tail: &str,
    width: usize,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<(), RepositoryError> {
    let per_statement = (5000 / width).max(1);
    let backend = conn.backend();
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
        let sql = format!("{head} {} {tail}", values_list(chunk.len(), width));
        conn.execute(stmt(backend, &sql, chunk.into_iter().flatten().collect())).await?;
    }
    Ok(())
}

fn merge_counter(map: &mut HashMap<CounterKey, Counter>, key: CounterKey, c: Counter) {
    let dirty = c.dirty || map.get(&key).is_some_and(|old| old.dirty);
    map.insert(key, Counter { value: c.value, dirty });
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn user(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("a time")
    }

    fn positions(of: &[(u128, i64)]) -> Vec<(UserId, EventSeq)> {
        of.iter().map(|(u, seq)| (user(*u), EventSeq::new(*seq))).collect()
    }

    /// (event row, user, position) of every position row, and every event row's payload.
    fn rows(delta: &UnitDelta) -> (Vec<(usize, u128, i64)>, Vec<JsonValue>) {
        let index = |id: Uuid| delta.events.iter().position(|e| e.id == id).expect("the row's event");
        let positions = delta.user_events.iter().map(|r| (index(r.event), r.user.as_u128(), r.seq)).collect();
        (positions, delta.events.iter().map(|e| e.payload.clone()).collect())
    }

    #[test]
    fn an_event_for_the_same_recipients_at_the_next_positions_joins_the_last_row() {
        let tenant = Uuid::from_u128(9);
        let mut delta = UnitDelta::default();
        delta.record_event(tenant, &positions(&[(1, 4), (2, 7)]), json!({"n": 1}), at(1));
        delta.record_event(tenant, &positions(&[(1, 5), (2, 8)]), json!({"n": 2}), at(1));
        delta.record_event(tenant, &positions(&[(1, 6), (2, 9)]), json!({"n": 3}), at(1));
        let (positions, payloads) = rows(&delta);
        assert_eq!(positions, vec![(0, 1, 6), (0, 2, 9)], "the position rows moved to the last event");
        assert_eq!(payloads, vec![json!([{"n": 1}, {"n": 2}, {"n": 3}])]);
    }

    #[test]
    fn an_event_gets_its_own_row_unless_everything_matches() {
        let tenant = Uuid::from_u128(9);
        let cases = [
            ("another tenant", Uuid::from_u128(8), positions(&[(1, 5), (2, 8)]), at(1)),
            ("another time", tenant, positions(&[(1, 5), (2, 8)]), at(2)),
            ("fewer recipients", tenant, positions(&[(2, 8)]), at(1)),
            ("more recipients", tenant, positions(&[(1, 5), (2, 8), (3, 1)]), at(1)),
            ("a position skipped", tenant, positions(&[(1, 6), (2, 8)]), at(1)),
        ];
        for (case, second_tenant, second, when) in cases {
            let mut delta = UnitDelta::default();
            delta.record_event(tenant, &positions(&[(1, 4), (2, 7)]), json!({"n": 1}), at(1));
            delta.record_event(second_tenant, &second, json!({"n": 2}), when);
            assert_eq!(delta.events.len(), 2, "{case}");
            assert_eq!(delta.user_events.len(), 2 + second.len(), "{case}");
            assert_eq!(delta.events[0].payload, json!({"n": 1}), "{case}: the first row is untouched");
        }
    }

    #[test]
    fn a_row_holds_at_most_max_events_per_row() {
        let tenant = Uuid::from_u128(9);
        let mut delta = UnitDelta::default();
        let total = MAX_EVENTS_PER_ROW + 1;
        for n in 1..=i64::try_from(total).expect("small") {
            delta.record_event(tenant, &positions(&[(1, n)]), json!({"n": n}), at(1));
        }
        let (positions, payloads) = rows(&delta);
        let max = i64::try_from(MAX_EVENTS_PER_ROW).expect("small");
        assert_eq!(positions, vec![(0, 1, max), (1, 1, max + 1)]);
        assert_eq!(payloads[0].as_array().map(Vec::len), Some(MAX_EVENTS_PER_ROW));
        assert_eq!(payloads[1], json!({"n": max + 1}));
    }
}
