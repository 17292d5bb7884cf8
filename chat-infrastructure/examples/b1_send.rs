//! B1, first measurement: direct messages sent through the store's unit of work with
//! `MessagingManager::send` from many concurrent tasks, beside a raw program writing the same rows with
//! the same durability (one transaction per batch of the store's largest batch size; see `raw_program`).
//!
//! ```text
//! cargo run --release -p chat-infrastructure --example b1_send -- [--messages N] [--concurrency C] [--pairs P] [--group N] [--raw-batch B] [--paced R]
//! ```
//! `--raw-batch B` sets the raw programs' messages per transaction (default: the store's largest batch, 256),
//! to see how the storage engine's cost per message falls with larger commits.
//! `--paced R` measures the ack latency at R msg/s offered instead of half the peak just measured, so that
//! two builds with different peaks can be compared at the same load.
//! `--group N` also sends `--group-messages M` (default 500) messages into one group of N members: the
//! storage side of B3 (SPEC §8: >= 50 msg/s stored into a 1,000-member group).
//!
//! `--breakdown R` measures instead where the raw C API program's time goes: R rounds of that program on
//! fresh files, each round running it whole and with one part of the write path left out (the search
//! index, the unread-total triggers, the time indexes, the side updates, the sender's read receipt, the
//! stream positions, the whole event log), in an order rotated every round. It prints each variant's
//! median cost per message and what leaving the part out saves.
//!
//! On SQLite the store runs twice in the same run: with its writer on SQLite's C API (the default) and on
//! the async driver (`SqliteWriter::Driver`), for the writer's A/B.
//!
//! SQLite (file, `strict`) always; PostgreSQL too when `CHAT_BENCH_DATABASE_URL` (or
//! `CHAT_TEST_DATABASE_URL`) is set — a fresh schema is created and dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chat_domain::message::MessageText;
use chat_domain::messaging::{MessagingManager, SendMessage, SendTarget};
use chat_domain::text::PersonName;
use chat_domain::user::ChatUser;
use chat_domain::{Repositories, TenantId, UserId};
use chat_infrastructure::persistence::migration::SEARCH_INDEX_FLUSH;
use chat_infrastructure::persistence::{Migrator, SeaOrmChatStore, SqliteWriter, StoreOptions};
use chrono::Utc;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, TransactionTrait, Value,
};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

/// The reference server's allocator (`chat-host`), for the store and both raw programs alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    messages: usize,
    concurrency: usize,
    pairs: usize,
    /// B3's storage side: members of one group to send into after the direct messages (0: skip).
    group: usize,
    group_messages: usize,
    /// Messages per transaction of the raw programs (default: the store's largest batch).
    raw_batch: usize,
    /// Rounds of the raw C API program's cost breakdown (0: run B1 instead).
    breakdown: usize,
    /// The rate offered for the ack latency figure, in msg/s (0: half the peak measured just before),
    /// so that builds with different peaks can be compared at the same load.
    paced: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        messages: 20_000,
        concurrency: 256,
        pairs: 100,
        group: 0,
        group_messages: 500,
        raw_batch: StoreOptions::DEFAULT_MAX_BATCH,
        breakdown: 0,
        paced: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it.next().context("a value after each flag")?.parse()?;
        match flag.as_str() {
            "--messages" => a.messages = value,
            "--concurrency" => a.concurrency = value,
            "--pairs" => a.pairs = value,
            "--group" => a.group = value,
            "--group-messages" => a.group_messages = value,
            "--raw-batch" => a.raw_batch = value.max(1),
            "--breakdown" => a.breakdown = value,
            "--paced" => a.paced = value,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

struct Outcome {
    rate: f64,
    p50: f64,
    p99: f64,
}

async fn seed(repos: &Repositories, tenant: TenantId, pairs: usize) -> Result<Vec<(UserId, UserId)>> {
    let mut out = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let mut pair = [UserId::from_uuid(Uuid::now_v7()), UserId::from_uuid(Uuid::now_v7())];
        for (j, id) in pair.iter_mut().enumerate() {
            let name = PersonName::parse(&format!("u{i}_{j}"), None, None)?;
            repos.users.upsert(&ChatUser::new(tenant, *id, name, Utc::now())).await?;
        }
        out.push((pair[0], pair[1]));
    }
    Ok(out)
}

/// One send, acknowledged after its commit.
async fn send_one(
    repos: &Repositories,
    tenant: TenantId,
    sender: UserId,
    target: SendTarget,
    text: String,
) -> Result<()> {
    let cmd = SendMessage {
        tenant,
        sender,
        target,
        text: MessageText::parse(&text, MessageText::DEFAULT_MAX)?,
        reply_to: None,
        attachments: Vec::new(),
        client_message_id: None,
        now: Utc::now(),
    };
    repos.uow.transact(move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await })).await?;
    Ok(())
}

/// A direct message, numbered `n`.
async fn send_direct(repos: &Repositories, tenant: TenantId, from: UserId, to: UserId, n: usize) -> Result<()> {
    send_one(repos, tenant, from, SendTarget::User(to), format!("benchmark message number {n}")).await
}

/// Closed loop: `concurrency` tasks send back to back, each taking the next message number, until `total`
/// are acknowledged. The rate counts from the first send to the last acknowledgement.
async fn closed_loop<F, Fut>(concurrency: usize, total: usize, send: F) -> Result<Outcome>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (next, send) = (next.clone(), send.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let t = Instant::now();
                send(n).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(total);
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    Ok(Outcome { rate: total as f64 / elapsed.as_secs_f64(), p50: pct(&lat, 0.5), p99: pct(&lat, 0.99) })
}

/// The peak: direct messages over `pairs`, each pair's members taking turns, in a closed loop.
async fn store_peak(repos: &Repositories, tenant: TenantId, pairs: &[(UserId, UserId)], a: &Args) -> Result<Outcome> {
    // Warm-up: every direct conversation exists before timing starts.
    for (i, (x, y)) in pairs.iter().enumerate() {
        send_direct(repos, tenant, *x, *y, i).await?;
    }
    let pairs = Arc::new(pairs.to_vec());
    let repos = repos.clone();
    closed_loop(a.concurrency, a.messages, move |n| {
        let (repos, (x, y)) = (repos.clone(), pairs[n % pairs.len()]);
        let (from, to) = if n % 2 == 0 { (x, y) } else { (y, x) };
        async move { send_direct(&repos, tenant, from, to, n).await }
    })
    .await
}

/// Open loop at a fixed offered rate for about two seconds: acknowledgement latency below saturation.
async fn store_paced(repos: &Repositories, tenant: TenantId, pairs: &[(UserId, UserId)], rate: f64) -> Result<Outcome> {
    let count = (rate * 2.0).max(100.0) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let (x, y) = pairs[n % pairs.len()];
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            send_direct(&repos, tenant, x, y, n).await.map(|()| t.elapsed())
        }));
    }
    let mut lat = Vec::with_capacity(count);
    for t in tasks {
        lat.push(t.await??);
    }
    lat.sort_unstable();
    Ok(Outcome { rate: count as f64 / start.elapsed().as_secs_f64(), p50: pct(&lat, 0.5), p99: pct(&lat, 0.99) })
}

fn raw(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::new();
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The raw programs' statements, shared so that both write exactly the same rows (`?` placeholders; the
/// sqlx program rewrites them for PostgreSQL).
mod raw_sql {
    pub const NEXT_SEQ: &str = "INSERT INTO conversation_seqs (tenant_id, conversation_id, last_seq) VALUES (?, ?, 1) \
         ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET last_seq = conversation_seqs.last_seq + 1 \
         RETURNING last_seq";
    pub const MESSAGE: &str = "INSERT INTO messages (tenant_id, id, conversation_id, seq, sender_id, text, attachments, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    pub const SIDES: &str = "UPDATE conversations SET last_message_id = ?, last_message_seq = ?, last_message_sender = ?, \
         last_message_at = ?, last_activity_at = ?, \
         unread_count = CASE WHEN user_id = ? THEN 0 ELSE unread_count + 1 END, \
         read_seq = CASE WHEN user_id = ? THEN ? ELSE read_seq END \
         WHERE tenant_id = ? AND conversation_id = ?";
    pub const RECEIPT: &str = "INSERT INTO receipts (tenant_id, conversation_id, user_id, kind, up_to_seq, at) \
         VALUES (?, ?, ?, 'read', ?, ?) ON CONFLICT DO NOTHING";
    pub const STREAMS: &str = "INSERT INTO user_streams (tenant_id, user_id, last_event_seq, pruned_event_seq) VALUES (?, ?, ?, 0), (?, ?, ?, 0) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET last_event_seq = user_streams.last_event_seq + excluded.last_event_seq \
         RETURNING user_id, last_event_seq";
    pub const EVENT: &str = "INSERT INTO events (tenant_id, id, payload, at) VALUES (?, ?, ?, ?)";
    pub const POSITIONS: &str =
        "INSERT INTO user_events (tenant_id, user_id, event_seq, event_id, at) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)";
}

/// The event payloads of the raw programs.
fn raw_message_payload(id: Uuid) -> serde_json::Value {
    serde_json::json!({"event": "messageCreated", "id": id})
}
fn raw_receipt_payload(conversation: Uuid, up_to: i64) -> serde_json::Value {
    serde_json::json!({"event": "receipt", "conversation": conversation, "upTo": up_to})
}
/// One row's payload: the event, or the array of a send's events.
fn raw_row_payload(mut payloads: Vec<serde_json::Value>) -> serde_json::Value {
    if payloads.len() == 1 { payloads.remove(0) } else { serde_json::Value::Array(payloads) }
}

/// The baseline: the same rows per message as the store writes (seq counter, message, both sides, both
/// streams, the event row and its two positions; and, for every send that reads the peer's message, the
/// read receipt's row and its event, in the message event's row), written with plain statements, one transaction per batch of
/// `batch` messages (the store's largest batch), on a store-created database with the same schema,
/// triggers and pragmas (`synchronous=FULL` in WAL): the same durability.
async fn raw_program(
    db: &DatabaseConnection,
    pairs: &[(UserId, UserId)],
    messages: usize,
    batch: usize,
) -> Result<f64> {
    let backend = db.get_database_backend();
    let tenant = Uuid::now_v7();
    let conversations: Vec<(Uuid, Uuid, Uuid)> =
        pairs.iter().map(|(x, y)| (Uuid::now_v7(), x.as_uuid(), y.as_uuid())).collect();
    let now = Utc::now();
    for (c, x, y) in &conversations {
        for (u, p) in [(x, y), (y, x)] {
            db.execute_raw(raw(
                backend,
                "INSERT INTO conversations (tenant_id, conversation_id, user_id, kind, peer_id, last_activity_at, \
                 unread_count, read_seq, delivered_seq, cleared_seq, hidden, muted, archived, created_at) \
                 VALUES (?, ?, ?, 'direct', ?, ?, 0, 0, 0, 0, ?, ?, ?, ?)",
                vec![
                    tenant.into(),
                    (*c).into(),
                    (*u).into(),
                    (*p).into(),
                    now.into(),
                    false.into(),
                    false.into(),
                    false.into(),
                    now.into(),
                ],
            ))
            .await?;
        }
    }
    let start = Instant::now();
    let mut n = 0;
    while n < messages {
        let txn = db.begin().await?;
        for _ in 0..batch.min(messages - n) {
            let (c, x, y) = conversations[n % conversations.len()];
            let (from, to) = if n % 2 == 0 { (x, y) } else { (y, x) };
            let at = Utc::now();
            let row = txn
                .query_one_raw(raw(backend, raw_sql::NEXT_SEQ, vec![tenant.into(), c.into()]))
                .await?
                .context("seq")?;
            let seq: i64 = row.try_get("", "last_seq")?;
            let id = Uuid::now_v7();
            txn.execute_raw(raw(
                backend,
                raw_sql::MESSAGE,
                vec![
                    tenant.into(),
                    id.into(),
                    c.into(),
                    seq.into(),
                    from.into(),
                    format!("benchmark message number {n}").into(),
                    Value::Json(Some(Box::new(serde_json::json!([])))),
                    at.into(),
                ],
            ))
            .await?;
            txn.execute_raw(raw(
                backend,
                raw_sql::SIDES,
                vec![
                    id.into(),
                    seq.into(),
                    from.into(),
                    at.into(),
                    at.into(),
                    from.into(),
                    from.into(),
                    seq.into(),
                    tenant.into(),
                    c.into(),
                ],
            ))
            .await?;
            // Sending reads the conversation: the peer's message before it becomes read, which the store
            // records as a receipt and announces to both members (every send after a conversation's first
            // one, since the pair alternates), in the message event's row.
            let mut payloads = vec![raw_message_payload(id)];
            if seq > 1 {
                txn.execute_raw(raw(
                    backend,
                    raw_sql::RECEIPT,
                    vec![tenant.into(), c.into(), from.into(), (seq - 1).into(), at.into()],
                ))
                .await?;
                payloads.push(raw_receipt_payload(c, seq - 1));
            }
            raw_event(&txn, tenant, (from, to), payloads, at).await?;
            n += 1;
        }
        // The schema's insert trigger notes each new message; the batch indexes them before it commits,
        // as the store does (migration m0005).
        if backend == DbBackend::Sqlite {
            for sql in SEARCH_INDEX_FLUSH {
                txn.execute_unprepared(sql).await?;
            }
        }
        txn.commit().await?;
    }
    Ok(messages as f64 / start.elapsed().as_secs_f64())
}

/// The events of one send for both members of a pair: both streams move by one position per event, the
/// events are stored in one row (an array when there are several, as the store does: ADR 0004), and each
/// member gets one position row, at its last position.
async fn raw_event(
    txn: &DatabaseTransaction,
    tenant: Uuid,
    (a, b): (Uuid, Uuid),
    payloads: Vec<serde_json::Value>,
    at: chrono::DateTime<Utc>,
) -> Result<()> {
    let backend = txn.get_database_backend();
    let (u1, u2) = if a < b { (a, b) } else { (b, a) };
    let step = i64::try_from(payloads.len())?;
    let payload = raw_row_payload(payloads);
    let rows = txn
        .query_all_raw(raw(
            backend,
            raw_sql::STREAMS,
            vec![tenant.into(), u1.into(), step.into(), tenant.into(), u2.into(), step.into()],
        ))
        .await?;
    let event = Uuid::now_v7();
    txn.execute_raw(raw(
        backend,
        raw_sql::EVENT,
        vec![tenant.into(), event.into(), Value::Json(Some(Box::new(payload))), at.into()],
    ))
    .await?;
    let mut values = Vec::new();
    for r in rows {
        let u: Uuid = r.try_get("", "user_id")?;
        let s: i64 = r.try_get("", "last_event_seq")?;
        values.extend([tenant.into(), u.into(), s.into(), event.into(), at.into()]);
    }
    txn.execute_raw(raw(backend, raw_sql::POSITIONS, values)).await?;
    Ok(())
}

/// The same rows as [`raw_program`], through SQLite's C API (rusqlite) with cached prepared statements on
/// the calling thread: no async driver, no worker thread, no query building. It shows what the storage
/// engine itself costs for these rows on this machine, apart from any driver. Same schema (a store-created
/// file), same pragmas (WAL, `synchronous=FULL`, the store's page cache), one transaction per batch.
/// `pragmas`: the store's settings as it reports them (`effective_settings`), applied to this connection.
fn raw_c_api(
    path: &std::path::Path,
    pragmas: &[(String, String)],
    pairs: &[(UserId, UserId)],
    messages: usize,
    batch: usize,
    without: Without,
) -> Result<f64> {
    use rusqlite::params;
    let mut c = rusqlite::Connection::open(path)?;
    for (name, value) in pragmas {
        if ["journal_mode", "synchronous", "foreign_keys", "busy_timeout", "cache_size", "temp_store"]
            .contains(&name.as_str())
        {
            c.execute_batch(&format!("PRAGMA {name} = {value}"))?;
        }
    }
    c.execute_batch(&without.schema_changes())?;
    // The text form sqlx gives a `DateTime<Utc>` on SQLite, so the rows are the same size.
    let now = || Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    let tenant = Uuid::now_v7();
    let conversations: Vec<(Uuid, Uuid, Uuid)> =
        pairs.iter().map(|(x, y)| (Uuid::now_v7(), x.as_uuid(), y.as_uuid())).collect();
    for (conv, x, y) in &conversations {
        for (u, p) in [(x, y), (y, x)] {
            c.execute(
                "INSERT INTO conversations (tenant_id, conversation_id, user_id, kind, peer_id, last_activity_at, \
                 unread_count, read_seq, delivered_seq, cleared_seq, hidden, muted, archived, created_at) \
                 VALUES (?, ?, ?, 'direct', ?, ?, 0, 0, 0, 0, 0, 0, 0, ?)",
                params![tenant.as_bytes(), conv.as_bytes(), u.as_bytes(), p.as_bytes(), now(), now()],
            )?;
        }
    }
    let start = Instant::now();
    let mut n = 0;
    while n < messages {
        let txn = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for _ in 0..batch.min(messages - n) {
            let (conv, x, y) = conversations[n % conversations.len()];
            let (from, to) = if n % 2 == 0 { (x, y) } else { (y, x) };
            let at = now();
            let seq: i64 = txn
                .prepare_cached(raw_sql::NEXT_SEQ)?
                .query_row(params![tenant.as_bytes(), conv.as_bytes()], |r| r.get(0))?;
            let id = Uuid::now_v7();
            txn.prepare_cached(raw_sql::MESSAGE)?.execute(params![
                tenant.as_bytes(),
                id.as_bytes(),
                conv.as_bytes(),
                seq,
                from.as_bytes(),
                format!("benchmark message number {n}"),
                "[]",
                at
            ])?;
            if !without.sides {
                txn.prepare_cached(raw_sql::SIDES)?.execute(params![
                    id.as_bytes(),
                    seq,
                    from.as_bytes(),
                    at,
                    at,
                    from.as_bytes(),
                    from.as_bytes(),
                    seq,
                    tenant.as_bytes(),
                    conv.as_bytes()
                ])?;
            }
            let mut payloads = vec![raw_message_payload(id)];
            if seq > 1 && !without.receipt {
                txn.prepare_cached(raw_sql::RECEIPT)?.execute(params![
                    tenant.as_bytes(),
                    conv.as_bytes(),
                    from.as_bytes(),
                    seq - 1,
                    at
                ])?;
                payloads.push(raw_receipt_payload(conv, seq - 1));
            }
            raw_c_api_event(&txn, tenant, (from, to), payloads, &at, without)?;
            n += 1;
        }
        for sql in SEARCH_INDEX_FLUSH {
            txn.prepare_cached(sql)?.execute([])?;
        }
        txn.commit()?;
    }
    Ok(messages as f64 / start.elapsed().as_secs_f64())
}

/// [`raw_event`] through the C API.
fn raw_c_api_event(
    txn: &rusqlite::Transaction<'_>,
    tenant: Uuid,
    (a, b): (Uuid, Uuid),
    payloads: Vec<serde_json::Value>,
    at: &str,
    without: Without,
) -> Result<()> {
    use rusqlite::params;
    if without.events {
        return Ok(());
    }
    let step = i64::try_from(payloads.len())?;
    let payload = raw_row_payload(payloads).to_string();
    let event = Uuid::now_v7();
    txn.prepare_cached(raw_sql::EVENT)?.execute(params![tenant.as_bytes(), event.as_bytes(), payload, at])?;
    if without.positions {
        return Ok(());
    }
    let (u1, u2) = if a < b { (a, b) } else { (b, a) };
    let positions: Vec<(Vec<u8>, i64)> = txn
        .prepare_cached(raw_sql::STREAMS)?
        .query_map(params![tenant.as_bytes(), u1.as_bytes(), step, tenant.as_bytes(), u2.as_bytes(), step], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let [(user1, seq1), (user2, seq2)] = <[(Vec<u8>, i64); 2]>::try_from(positions)
        .map_err(|p| anyhow::anyhow!("expected two stream positions, got {}", p.len()))?;
    txn.prepare_cached(raw_sql::POSITIONS)?.execute(params![
        tenant.as_bytes(),
        user1,
        seq1,
        event.as_bytes(),
        at,
        tenant.as_bytes(),
        user2,
        seq2,
        event.as_bytes(),
        at
    ])?;
    Ok(())
}

/// Parts of the raw C API program's write path left out by one variant of the breakdown (`--breakdown`).
#[derive(Debug, Clone, Copy, Default)]
struct Without {
    /// The full-text index: its triggers on `messages` are dropped.
    search: bool,
    /// The per-user unread totals: their triggers on `conversations` are dropped.
    unread_totals: bool,
    /// The `at` indexes of `events` and `user_events` (pruning by age).
    time_indexes: bool,
    /// The update of both sides (`conversations` rows) per message.
    sides: bool,
    /// The sender's read receipt: its `receipts` row and its event (which shares the message event's row).
    receipt: bool,
    /// The events' positions: the stream counters and the `user_events` rows (the `events` rows stay).
    positions: bool,
    /// The whole event log: `events` rows too.
    events: bool,
}

impl Without {
    /// The variants of the breakdown, with what each leaves out.
    fn variants() -> Vec<(&'static str, Without)> {
        let none = Without::default();
        vec![
            ("everything", none),
            ("without the search index triggers", Without { search: true, ..none }),
            ("without the unread-total triggers", Without { unread_totals: true, ..none }),
            ("without the events' and positions' `at` indexes", Without { time_indexes: true, ..none }),
            ("without the side updates", Without { sides: true, ..none }),
            ("without the sender's receipt (row, event)", Without { receipt: true, ..none }),
            ("without positions (stream counters, user_events)", Without { positions: true, ..none }),
            ("without the event log (events, positions)", Without { events: true, positions: true, ..none }),
        ]
    }

    /// The schema changes this variant makes to its fresh file before the timed loop.
    fn schema_changes(self) -> String {
        let mut sql = String::new();
        if self.search {
            for t in ["messages_fts_insert", "messages_fts_delete", "messages_fts_update"] {
                sql.push_str(&format!("DROP TRIGGER IF EXISTS {t};"));
            }
        }
        if self.unread_totals {
            for t in ["conversations_unread_insert", "conversations_unread_update", "conversations_unread_delete"] {
                sql.push_str(&format!("DROP TRIGGER IF EXISTS {t};"));
            }
        }
        if self.time_indexes {
            sql.push_str("DROP INDEX IF EXISTS ix_events_at; DROP INDEX IF EXISTS ix_user_events_at;");
        }
        sql
    }
}

/// `--breakdown`: the raw C API program whole and without each part, on a fresh store-created file each
/// time, `rounds` rounds with the variants' order rotated every round; prints each variant's median.
async fn breakdown(dir: &std::path::Path, a: &Args) -> Result<()> {
    let variants = Without::variants();
    let mut costs: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let pairs: Vec<(UserId, UserId)> =
        (0..a.pairs).map(|_| (UserId::from_uuid(Uuid::now_v7()), UserId::from_uuid(Uuid::now_v7()))).collect();
    for round in 0..a.breakdown {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            let path = dir.join(format!("breakdown-{round}-{i}.db"));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let pragmas =
                SeaOrmChatStore::connect(StoreOptions::new(url.as_str())).await?.effective_settings().to_vec();
            let (pairs, messages, batch, without) = (pairs.clone(), a.messages, a.raw_batch, variants[i].1);
            let rate =
                tokio::task::spawn_blocking(move || raw_c_api(&path, &pragmas, &pairs, messages, batch, without))
                    .await??;
            costs[i].push(1e6 / rate);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let whole = median(&mut costs[0].clone());
    println!("{:<55} {:>10} {:>10} {:>14}", "raw C API program", "us/msg", "msg/s", "saves (of all)");
    for ((name, _), c) in variants.iter().zip(costs.iter_mut()) {
        let us = median(c);
        let saved = (whole - us) / whole * 100.0;
        println!("{name:<55} {us:>10.1} {:>10.0} {saved:>13.0}%", 1e6 / us);
    }
    println!("(median of {} rounds, {} messages each, {} per transaction)", a.breakdown, a.messages, a.raw_batch);
    Ok(())
}

/// The SQLite leg's extra files: one for the store with its writer on the async driver (the same-run A/B of
/// the writer's connection), one for the C API baseline ([`raw_c_api`]).
struct SqliteExtras {
    driver_writer_url: String,
    c_api: std::path::PathBuf,
}

async fn run_backend(
    label: &str,
    store_url: &str,
    raw_url: &str,
    sqlite: Option<SqliteExtras>,
    a: &Args,
) -> Result<()> {
    let store = SeaOrmChatStore::connect(StoreOptions::new(store_url)).await?;
    let settings: Vec<String> = store.effective_settings().iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("[{label}] {}", settings.join(" "));
    let repos = Repositories::from_store(Arc::new(store));
    let tenant = TenantId::from_uuid(Uuid::now_v7());
    let pairs = seed(&repos, tenant, a.pairs).await?;
    let peak = store_peak(&repos, tenant, &pairs, a).await?;
    let paced_rate = if a.paced > 0 { a.paced as f64 } else { peak.rate / 2.0 };
    let half = store_paced(&repos, tenant, &pairs, paced_rate).await?;
    if let Some(extras) = &sqlite {
        let mut options = StoreOptions::new(&extras.driver_writer_url);
        options.database.sqlite_writer = SqliteWriter::Driver;
        let driver = Repositories::from_store(Arc::new(SeaOrmChatStore::connect(options).await?));
        let driver_pairs = seed(&driver, tenant, a.pairs).await?;
        let before = store_peak(&driver, tenant, &driver_pairs, a).await?;
        println!(
            "[{label}] store with the writer on the async driver: {:.0} msg/s, ack p50 {:.2} ms, p99 {:.2} ms | ratio C API writer/driver writer = {:.2}",
            before.rate,
            before.p50,
            before.p99,
            peak.rate / before.rate
        );
    }

    let raw_store = SeaOrmChatStore::connect(StoreOptions::new(raw_url)).await?; // same schema and pragmas
    let raw_db = raw_store.connection().clone();
    Migrator::up(&raw_db, None).await?;
    let baseline = raw_program(&raw_db, &pairs, a.messages, a.raw_batch).await?;
    println!(
        "[{label}] store: {:.0} msg/s, ack p50 {:.2} ms, p99 {:.2} ms | at {} ({:.0} msg/s offered): p50 {:.2} ms, p99 {:.2} ms",
        peak.rate,
        peak.p50,
        peak.p99,
        if a.paced > 0 { "the rate asked" } else { "half peak" },
        half.rate,
        half.p50,
        half.p99
    );
    println!("[{label}] raw program: {baseline:.0} msg/s | ratio store/raw = {:.2}", peak.rate / baseline);
    if let Some(SqliteExtras { c_api: path, .. }) = sqlite {
        // The store creates the file (schema, triggers, WAL) and closes; the C API program runs alone on it,
        // with the pragmas the store reported.
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pragmas = SeaOrmChatStore::connect(StoreOptions::new(url.as_str())).await?.effective_settings().to_vec();
        let (pairs, messages, batch) = (pairs.clone(), a.messages, a.raw_batch);
        let rate = tokio::task::spawn_blocking(move || {
            raw_c_api(&path, &pragmas, &pairs, messages, batch, Without::default())
        })
        .await??;
        println!("[{label}] raw C API program: {rate:.0} msg/s | ratio store/raw C API = {:.2}", peak.rate / rate);
    }
    if a.group > 0 {
        let g = group_sends(&repos, tenant, a.group, a.group_messages).await?;
        println!(
            "[{label}] group of {} members: {:.0} msg/s stored, ack p50 {:.2} ms, p99 {:.2} ms",
            a.group, g.rate, g.p50, g.p99
        );
    }
    Ok(())
}

/// Concurrent senders into the group of B3's storage side.
const GROUP_SENDERS: usize = 32;

/// B3's storage side: `messages` sends into one group of `members`, from [`GROUP_SENDERS`] concurrent senders
/// (members taking turns), each stored with its side updates and one event per member.
async fn group_sends(repos: &Repositories, tenant: TenantId, members: usize, messages: usize) -> Result<Outcome> {
    let users = seed(repos, tenant, members.div_ceil(2)).await?;
    let users: Vec<UserId> = users.into_iter().flat_map(|(x, y)| [x, y]).take(members.max(2)).collect();
    let (owner, rest) = users.split_first().context("a group has members")?;
    let rest = rest.to_vec();
    let owner = *owner;
    let group = repos
        .uow
        .transact(move |tx| {
            Box::pin(async move {
                let details = chat_domain::group::GroupDetails::parse("bench", None, None)?;
                let policy =
                    chat_domain::messaging::MessagingPolicy { max_group_members: rest.len() + 1, ..Default::default() };
                MessagingManager::new(policy).create_group(tx, tenant, owner, details, &rest, Utc::now()).await
            })
        })
        .await?
        .value
        .id();
    let (users, repos) = (Arc::new(users), repos.clone());
    closed_loop(GROUP_SENDERS, messages, move |n| {
        let (repos, sender) = (repos.clone(), users[(n * 7919) % users.len()]);
        async move {
            send_one(&repos, tenant, sender, SendTarget::Conversation(group), format!("group message {n}")).await
        }
    })
    .await
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    println!("B1: {} direct messages, {} concurrent senders, {} conversations", a.messages, a.concurrency, a.pairs);
    let dir = std::env::temp_dir().join(format!("chat-b1-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let store_url = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    let raw_url = format!("sqlite://{}?mode=rwc", dir.join("raw.db").display());
    if a.breakdown > 0 {
        println!("breakdown of the raw C API program's cost per message");
        let result = breakdown(&dir, &a).await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    let extras = SqliteExtras {
        driver_writer_url: format!("sqlite://{}?mode=rwc", dir.join("store_driver_writer.db").display()),
        c_api: dir.join("raw_c_api.db"),
    };
    let result = run_backend("sqlite strict", &store_url, &raw_url, Some(extras), &a).await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;

    let pg = std::env::var("CHAT_BENCH_DATABASE_URL").or_else(|_| std::env::var("CHAT_TEST_DATABASE_URL"));
    match pg {
        Ok(url) if !url.is_empty() => {
            let admin = Database::connect(url.as_str()).await?;
            let suffix = Uuid::now_v7().simple().to_string();
            let (s1, s2) = (format!("chat_b1_store_{}", &suffix[..12]), format!("chat_b1_raw_{}", &suffix[..12]));
            for s in [&s1, &s2] {
                admin.execute_unprepared(&format!("CREATE SCHEMA {s}")).await?;
            }
            let sep = if url.contains('?') { '&' } else { '?' };
            let with = |s: &str| format!("{url}{sep}options=-c%20search_path%3D{s}");
            let result = run_backend("postgres", &with(&s1), &with(&s2), None, &a).await;
            for s in [&s1, &s2] {
                admin.execute_unprepared(&format!("DROP SCHEMA {s} CASCADE")).await?;
            }
            result?;
        }
        _ => println!("[postgres] skipped: set CHAT_BENCH_DATABASE_URL or CHAT_TEST_DATABASE_URL"),
    }
    Ok(())
}
