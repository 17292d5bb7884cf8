//! The outbox side of the event store: which committed events have been published on the event bus, and
//! claiming the ones that have not (see `docs/adr/0003-outbox-relay.md`).
//!
//! Events are written by units of work into `events` and `user_events` in the same transaction as the
//! change they announce; that is the outbox. Publishing is recorded afterwards in `outbox_published`, one
//! marker per event. [`SeaOrmOutbox::claim`] picks events of a time window that have no marker, locks them
//! (`FOR UPDATE SKIP LOCKED`) and inserts their markers in one open transaction, so that two relays never
//! publish the same event: the markers commit only after the caller has published
//! ([`OutboxClaim::commit`]), and vanish if it could not ([`OutboxClaim::release`], or a crash).
//!
//! PostgreSQL only: cluster mode shares one PostgreSQL database, and SQLite has no `SKIP LOCKED`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, TransactionTrait, Value,
};
use uuid::Uuid;

use chat_domain::event::{CommittedEvent, DomainEvent};
use chat_domain::message::Reaction;
use chat_domain::{EventSeq, MessageId, RepositoryError, TenantId, UserId};

use super::entities::reaction;
use super::mapping;
use super::sql::{db_err, placeholders, rows, stmt};

/// One recipient's position of a published event: enough to find the event (`user_events`' key), and what a
/// [`RealtimeEvent`](chat_application::RealtimeEvent) carries, so the publisher needs no event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishedKey {
    /// Tenant.
    pub tenant: TenantId,
    /// One recipient of the event.
    pub user: UserId,
    /// The event's position in that recipient's stream.
    pub seq: EventSeq,
}

/// The stored events and their publication markers, on PostgreSQL.
///
/// Uses its own small connection pool, so that the relay never competes with the write path for
/// connections. The schema (`outbox_published`) is created by the store's migrations.
#[derive(Clone, Debug)]
pub struct SeaOrmOutbox {
    db: DatabaseConnection,
}

impl SeaOrmOutbox {
    /// Opens a pool of at most two connections on the PostgreSQL database `url` names. Migrations are the
    /// store's business ([`SeaOrmChatStore::connect`](super::SeaOrmChatStore::connect) runs them).
    pub async fn connect(url: &str) -> Result<Self, RepositoryError> {
        if !url.starts_with("postgres") {
            return Err(RepositoryError::storage_msg("the outbox relay needs a PostgreSQL database"));
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(2)
            .min_connections(0)
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        let db = Database::connect(options).await.map_err(db_err)?;
        Ok(Self { db })
    }

    /// Records events as published, one key per event (inserting a marker that exists already is a no-op).
    /// Returns how many markers were new.
    pub async fn mark_published(&self, keys: &[PublishedKey], now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let mut marked = 0;
        for chunk in keys.chunks(500) {
            let rows = rows(chunk.len(), 3);
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3 + 1);
            values.push(now.into());
            for key in chunk {
                values.extend([key.tenant.as_uuid().into(), key.user.as_uuid().into(), key.seq.value().into()]);
            }
            // The event of each key is found through `user_events`' primary key. (A join with a VALUES list,
            // not a row-value `IN`: PostgreSQL plans a 500-row `IN` as an OR of index scans, ~0.4 s.)
            let sql = format!(
                "INSERT INTO outbox_published (tenant_id, event_id, at, published_at) \
                 SELECT ue.tenant_id, ue.event_id, ue.at, ? FROM (VALUES {rows}) AS k (tenant_id, user_id, event_seq) \
                 JOIN user_events ue ON ue.tenant_id = k.tenant_id AND ue.user_id = k.user_id \
                 AND ue.event_seq = k.event_seq ON CONFLICT (tenant_id, event_id) DO NOTHING"
            );
            marked +=
                self.db.execute_raw(stmt(DbBackend::Postgres, &sql, values)).await.map_err(db_err)?.rows_affected();
        }
        Ok(marked)
    }

    /// Locks up to `limit` events recorded in `[from, to]` that have no marker, oldest first (after the
    /// event `after`, when given: the last one of the previous batch), skipping events another relay
    /// holds, in a transaction that stays open until the claim is committed or released.
    /// [`OutboxClaim::take`] then marks the ones to publish.
    pub async fn claim(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<StoredEventKey>,
        limit: usize,
    ) -> Result<OutboxClaim, RepositoryError> {
        let tx = self.db.begin().await.map_err(db_err)?;
        let mut values: Vec<Value> = vec![from.into(), to.into(), from.into(), to.into()];
        let keyset = match after {
            Some(key) => {
                values.extend([key.at.into(), key.id.into()]);
                "AND (e.at, e.id) > (?, ?) "
            }
            None => "",
        };
        values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        // A marker carries its event's `at`: bounding both sides by the window lets PostgreSQL merge two
        // short index ranges instead of reading every marker.
        let rows = tx
            .query_all_raw(stmt(
                DbBackend::Postgres,
                &format!(
                    "SELECT e.tenant_id, e.id, e.payload, e.at FROM events e \
                     WHERE e.at >= ? AND e.at <= ? AND NOT EXISTS (SELECT 1 FROM outbox_published p \
                     WHERE p.tenant_id = e.tenant_id AND p.event_id = e.id AND p.at = e.at AND p.at >= ? \
                     AND p.at <= ?) {keyset}ORDER BY e.at, e.id LIMIT ? FOR UPDATE OF e SKIP LOCKED"
                ),
                values,
            ))
            .await
            .map_err(db_err)?;
        let mut candidates = Vec::with_capacity(rows.len());
        for row in rows {
            let tenant: Uuid = row.try_get("", "tenant_id").map_err(db_err)?;
            let id: Uuid = row.try_get("", "id").map_err(db_err)?;
            let payload: serde_json::Value = row.try_get("", "payload").map_err(db_err)?;
            let at: DateTime<Utc> = row.try_get("", "at").map_err(db_err)?;
            candidates.push(Candidate { key: StoredEventKey { tenant: TenantId::from_uuid(tenant), id, at }, payload });
        }
        Ok(OutboxClaim { tx, candidates, events: Vec::new(), reactions: Vec::new() })
    }

    /// Deletes the markers of events recorded before `older_than` (the relay no longer looks that far back).
    pub async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, RepositoryError> {
        self.db
            .execute_raw(stmt(
                DbBackend::Postgres,
                "DELETE FROM outbox_published WHERE at < ?",
                vec![older_than.into()],
            ))
            .await
            .map(|r| r.rows_affected())
            .map_err(db_err)
    }
}

/// The recipients of each candidate event with their positions, sorted by user. `user_events` rows carry
/// the event's `at`, which its index serves, so this reads the batch's time range rather than the table.
async fn recipients(
    tx: &DatabaseTransaction,
    candidates: &[Candidate],
) -> Result<HashMap<(Uuid, Uuid), Vec<(UserId, EventSeq)>>, RepositoryError> {
    let Some(first) = candidates.first() else { return Ok(HashMap::new()) };
    let (mut from, mut to) = (first.key.at, first.key.at);
    for c in candidates {
        from = from.min(c.key.at);
        to = to.max(c.key.at);
    }
    let mut values: Vec<Value> = vec![from.into(), to.into()];
    values.extend(candidates.iter().map(|c| Value::from(c.key.id)));
    let sql = format!(
        "SELECT tenant_id, event_id, user_id, event_seq FROM user_events \
         WHERE at >= ? AND at <= ? AND event_id IN ({}) ORDER BY tenant_id, event_id, user_id",
        placeholders(candidates.len())
    );
    let mut out: HashMap<(Uuid, Uuid), Vec<(UserId, EventSeq)>> = HashMap::new();
    for row in tx.query_all_raw(stmt(DbBackend::Postgres, &sql, values)).await.map_err(db_err)? {
        let tenant: Uuid = row.try_get("", "tenant_id").map_err(db_err)?;
        let event: Uuid = row.try_get("", "event_id").map_err(db_err)?;
        let user: Uuid = row.try_get("", "user_id").map_err(db_err)?;
        let seq: i64 = row.try_get("", "event_seq").map_err(db_err)?;
        out.entry((tenant, event)).or_default().push((UserId::from_uuid(user), EventSeq::new(seq)));
    }
    Ok(out)
}

/// A stored event's key, as a relay sees it before publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoredEventKey {
    /// Tenant.
    pub tenant: TenantId,
    /// The event's id.
    pub id: Uuid,
    /// When it was recorded (the clock of the node that recorded it).
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
struct Candidate {
    key: StoredEventKey,
    payload: serde_json::Value,
}

/// Unpublished events locked by one relay. [`take`](Self::take) marks those it will publish (markers
/// inserted, not committed); commit after publishing; release (or drop) when publishing failed, so that a
/// relay tries again.
#[derive(Debug)]
pub struct OutboxClaim {
    tx: DatabaseTransaction,
    candidates: Vec<Candidate>,
    events: Vec<CommittedEvent>,
    reactions: Vec<Reaction>,
}

impl OutboxClaim {
    /// The locked events, oldest first.
    pub fn candidates(&self) -> impl Iterator<Item = StoredEventKey> + '_ {
        self.candidates.iter().map(|c| c.key)
    }

    /// How many events were locked: below the limit asked for, nothing else in the window was waiting,
    /// apart from events other relays had locked.
    pub fn scanned(&self) -> usize {
        self.candidates.len()
    }

    /// Marks the locked events `publish` accepts and loads them for publishing: each with every
    /// recipient's position (as the unit of work that recorded it handed them back after its commit), and
    /// the current reactions of the messages they carry. A marker another relay committed after this
    /// claim's snapshot conflicts, and that event is left out, so two relays never publish one event.
    pub async fn take(
        &mut self,
        publish: impl Fn(&StoredEventKey) -> bool,
        now: DateTime<Utc>,
    ) -> Result<&[CommittedEvent], RepositoryError> {
        let mut chosen: Vec<Candidate> = Vec::new();
        for candidate in std::mem::take(&mut self.candidates) {
            if publish(&candidate.key) {
                chosen.push(candidate);
            } else {
                self.candidates.push(candidate);
            }
        }
        if chosen.is_empty() {
            return Ok(&self.events);
        }
        let mut values: Vec<Value> = Vec::with_capacity(chosen.len() * 3 + 1);
        values.push(now.into());
        for c in &chosen {
            values.extend([c.key.tenant.as_uuid().into(), c.key.id.into(), c.key.at.into()]);
        }
        let rows = rows(chosen.len(), 3);
        let sql = format!(
            "INSERT INTO outbox_published (tenant_id, event_id, at, published_at) \
             SELECT v.tenant_id, v.event_id, v.at, ? FROM (VALUES {rows}) AS v (tenant_id, event_id, at) \
             ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING tenant_id, event_id"
        );
        let claimed: Vec<(Uuid, Uuid)> = self
            .tx
            .query_all_raw(stmt(DbBackend::Postgres, &sql, values))
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| Ok((r.try_get("", "tenant_id").map_err(db_err)?, r.try_get("", "event_id").map_err(db_err)?)))
            .collect::<Result<_, RepositoryError>>()?;
        chosen.retain(|c| claimed.contains(&(c.key.tenant.as_uuid(), c.key.id)));
        if chosen.is_empty() {
            return Ok(&self.events);
        }

        let recipients = recipients(&self.tx, &chosen).await?;
        let mut messages: HashMap<TenantId, Vec<MessageId>> = HashMap::new();
        for Candidate { key, payload } in chosen {
            // A row may hold several events, at consecutive positions ending at the ones `user_events` carries.
            let held = mapping::events_in_row(payload)?;
            let count = held.len();
            let last = recipients.get(&(key.tenant.as_uuid(), key.id)).map(Vec::as_slice).unwrap_or_default();
            for (index, event) in held.into_iter().enumerate() {
                if let DomainEvent::MessageCreated { message } | DomainEvent::MessageUpdated { message } = &event {
                    messages.entry(key.tenant).or_default().push(message.id);
                }
                let recipients =
                    last.iter().map(|(user, seq)| (*user, mapping::position_in_row(*seq, count, index))).collect();
                self.events.push(CommittedEvent { tenant: key.tenant, event: Arc::new(event), recipients, at: key.at });
            }
        }
        for (tenant, ids) in messages {
            let rows = reaction::Entity::find()
                .filter(reaction::Column::TenantId.eq(tenant.as_uuid()))
                .filter(reaction::Column::MessageId.is_in(ids.iter().map(|m| m.as_uuid())))
                .all(&self.tx)
                .await
                .map_err(db_err)?;
            for row in rows {
                self.reactions.push(mapping::reaction_from_row(row)?);
            }
        }
        Ok(&self.events)
    }

    /// The events taken for publishing, oldest first.
    pub fn events(&self) -> &[CommittedEvent] {
        &self.events
    }

    /// The current reactions of the messages the taken events carry, for their payloads (as live delivery
    /// and `sync` build them).
    pub fn reactions(&self) -> &[Reaction] {
        &self.reactions
    }

    /// Commits the markers: the taken events count as published.
    pub async fn commit(self) -> Result<(), RepositoryError> {
        self.tx.commit().await.map_err(db_err)
    }

    /// Drops the markers: the events stay unpublished, for the next pass.
    pub async fn release(self) -> Result<(), RepositoryError> {
        self.tx.rollback().await.map_err(db_err)
    }
}
