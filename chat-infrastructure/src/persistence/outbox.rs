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
use super::sql::{db_err, placeholders, stmt};

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
            let rows = vec!["(?, ?, ?)"; chunk.len()].join(", ");
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

    /// Claims up to `limit` events recorded in `[from, to]` that have no marker, oldest first: locks them,
    /// skipping events another relay holds, and inserts their markers in a transaction that stays open
    /// until the claim is committed or released.
    pub async fn claim(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<OutboxClaim, RepositoryError> {
        let tx = self.db.begin().await.map_err(db_err)?;
        // A marker carries its event's `at`: bounding both sides by the window lets PostgreSQL merge two
        // short index ranges instead of reading every marker.
        let rows = tx
            .query_all_raw(stmt(
                DbBackend::Postgres,
                "SELECT e.tenant_id, e.id, e.payload, e.at FROM events e \
                 WHERE e.at >= ? AND e.at <= ? AND NOT EXISTS (SELECT 1 FROM outbox_published p \
                 WHERE p.tenant_id = e.tenant_id AND p.event_id = e.id AND p.at = e.at AND p.at >= ? AND p.at <= ?) \
                 ORDER BY e.at, e.id LIMIT ? FOR UPDATE OF e SKIP LOCKED",
                vec![from.into(), to.into(), from.into(), to.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
            ))
            .await
            .map_err(db_err)?;
        let mut candidates = Vec::with_capacity(rows.len());
        for row in rows {
            let tenant: Uuid = row.try_get("", "tenant_id").map_err(db_err)?;
            let id: Uuid = row.try_get("", "id").map_err(db_err)?;
            let payload: serde_json::Value = row.try_get("", "payload").map_err(db_err)?;
            let at: DateTime<Utc> = row.try_get("", "at").map_err(db_err)?;
            candidates.push((tenant, id, payload, at));
        }
        if candidates.is_empty() {
            return Ok(OutboxClaim { tx, events: Vec::new(), reactions: Vec::new(), scanned: 0 });
        }
        let scanned = candidates.len();

        // The claim proper: a marker that another relay committed meanwhile (after this statement's snapshot
        // was taken) conflicts, and that event is left out.
        let mut values: Vec<Value> = Vec::with_capacity(candidates.len() * 3 + 1);
        values.push(now.into());
        for (tenant, id, _, at) in &candidates {
            values.extend([(*tenant).into(), (*id).into(), (*at).into()]);
        }
        let rows = vec!["(?, ?, ?)"; candidates.len()].join(", ");
        let sql = format!(
            "INSERT INTO outbox_published (tenant_id, event_id, at, published_at) \
             SELECT v.tenant_id, v.event_id, v.at, ? FROM (VALUES {rows}) AS v (tenant_id, event_id, at) \
             ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING tenant_id, event_id"
        );
        let claimed: Vec<(Uuid, Uuid)> = tx
            .query_all_raw(stmt(DbBackend::Postgres, &sql, values))
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| Ok((r.try_get("", "tenant_id").map_err(db_err)?, r.try_get("", "event_id").map_err(db_err)?)))
            .collect::<Result<_, RepositoryError>>()?;
        candidates.retain(|(tenant, id, _, _)| claimed.contains(&(*tenant, *id)));
        if candidates.is_empty() {
            return Ok(OutboxClaim { tx, events: Vec::new(), reactions: Vec::new(), scanned });
        }

        let recipients = recipients(&tx, &candidates).await?;
        let mut events = Vec::with_capacity(candidates.len());
        let mut messages: HashMap<Uuid, Vec<MessageId>> = HashMap::new();
        for (tenant, id, payload, at) in candidates {
            let event: DomainEvent = mapping::from_json("event", payload)?;
            if let DomainEvent::MessageCreated { message } | DomainEvent::MessageUpdated { message } = &event {
                messages.entry(tenant).or_default().push(message.id);
            }
            let recipients = recipients.get(&(tenant, id)).cloned().unwrap_or_default();
            events.push(CommittedEvent { tenant: TenantId::from_uuid(tenant), event: Arc::new(event), recipients, at });
        }
        let mut reactions = Vec::new();
        for (tenant, ids) in messages {
            let rows = reaction::Entity::find()
                .filter(reaction::Column::TenantId.eq(tenant))
                .filter(reaction::Column::MessageId.is_in(ids.iter().map(|m| m.as_uuid())))
                .all(&tx)
                .await
                .map_err(db_err)?;
            for row in rows {
                reactions.push(mapping::reaction_from_row(row)?);
            }
        }
        Ok(OutboxClaim { tx, events, reactions, scanned })
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
    candidates: &[(Uuid, Uuid, serde_json::Value, DateTime<Utc>)],
) -> Result<HashMap<(Uuid, Uuid), Vec<(UserId, EventSeq)>>, RepositoryError> {
    let (mut from, mut to) = (candidates[0].3, candidates[0].3);
    for (_, _, _, at) in candidates {
        from = from.min(*at);
        to = to.max(*at);
    }
    let mut values: Vec<Value> = vec![from.into(), to.into()];
    values.extend(candidates.iter().map(|(_, id, _, _)| Value::from(*id)));
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

/// Events claimed for publishing, with their markers inserted but not committed. Commit after publishing;
/// release (or drop) when publishing failed, so that a relay tries again.
#[derive(Debug)]
pub struct OutboxClaim {
    tx: DatabaseTransaction,
    events: Vec<CommittedEvent>,
    reactions: Vec<Reaction>,
    scanned: usize,
}

impl OutboxClaim {
    /// The claimed events, oldest first, each with every recipient's position (as the unit of work that
    /// recorded it handed them back after its commit).
    pub fn events(&self) -> &[CommittedEvent] {
        &self.events
    }

    /// The current reactions of the messages the claimed events carry, for their payloads (as live delivery
    /// and `sync` build them).
    pub fn reactions(&self) -> &[Reaction] {
        &self.reactions
    }

    /// How many unmarked events the window held before claiming (at most the limit): when it is below the
    /// limit, nothing else in the window was waiting, apart from events other relays had locked.
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    /// Commits the markers: the events count as published.
    pub async fn commit(self) -> Result<(), RepositoryError> {
        self.tx.commit().await.map_err(db_err)
    }

    /// Drops the markers: the events stay unpublished, for the next pass.
    pub async fn release(self) -> Result<(), RepositoryError> {
        self.tx.rollback().await.map_err(db_err)
    }
}
