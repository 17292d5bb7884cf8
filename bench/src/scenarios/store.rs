//! B5 and B6: reads through the sea-orm store (the repository ports, including the mapping to domain types)
//! beside the same SQL run raw on the same connection, in process, on a SQLite file seeded with raw
//! multi-row inserts (seeding through the store would take longer than the measurement).
//!
//! - B5: a page of 50 of one conversation's history holding `M` messages: the newest page, and a deep page
//!   (`before` = seq 100, near the oldest end), each `iterations` times.
//! - B6: the conversation list (first page of 50) and the total unread count of a user with `C`
//!   conversation sides. The total is kept on write; `raw-sum` is the sum over every side, read raw (what
//!   it cost before the total was kept).

use std::sync::Arc;
use std::time::Instant;

use chat_domain::conversation::ConversationListQuery;
use chat_domain::message::{MessagePageQuery, PageOrder};
use chat_domain::{ConversationId, Repositories, Seq, TenantId, UserId};
use chat_infrastructure::persistence::migration::SEARCH_INDEX_FLUSH;
use chat_infrastructure::persistence::{SeaOrmChatStore, StoreOptions};
use chrono::{TimeZone, Utc};
use hdrhistogram::Histogram;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use serde_json::json;
use uuid::Uuid;

use super::report::OURS;
use super::{BenchResult, Samples, Suite, progress};
use crate::stats::{Latency, latency_histogram};

const PAGE: usize = 50;
/// Rows per multi-row insert (13 columns x 500 stays under SQLite's 32,766 bound parameters).
const SEED_BATCH: usize = 500;

async fn open_store(suite: &Suite, name: &str) -> anyhow::Result<(SeaOrmChatStore, std::path::PathBuf)> {
    let dir = suite.env.work_dir.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    let store = SeaOrmChatStore::connect(StoreOptions::new(url)).await?;
    Ok((store, dir))
}

fn placeholders(rows: usize, cols: usize) -> String {
    let row = format!("({})", vec!["?"; cols].join(", "));
    vec![row; rows].join(", ")
}

fn at(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).single().unwrap_or_else(Utc::now)
}

/// Times `f` `n` times into a histogram of microseconds.
async fn time<F, Fut>(n: usize, mut f: F) -> anyhow::Result<Histogram<u64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut h = latency_histogram()?;
    for _ in 0..n {
        let t = Instant::now();
        let rows = f().await?;
        std::hint::black_box(rows);
        h.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX).max(1))?;
    }
    Ok(h)
}

/// Runs a query raw and reads every column of every row, as the mapping would.
async fn raw_rows(db: &DatabaseConnection, sql: &str, values: Vec<Value>, columns: &[&str]) -> anyhow::Result<usize> {
    let rows = db.query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await?;
    for r in &rows {
        for c in columns {
            // Reading as the generic value is what any driver-level program pays per column.
            let v: Option<Vec<u8>> = r.try_get("", c).ok();
            std::hint::black_box(v);
        }
    }
    Ok(rows.len())
}

// ----- B5 -----

async fn seed_messages(
    db: &DatabaseConnection,
    tenant: Uuid,
    conversation: Uuid,
    users: [Uuid; 2],
    count: usize,
) -> anyhow::Result<()> {
    let sql_head = "INSERT INTO messages (tenant_id, id, conversation_id, seq, sender_id, text, reply_to, attachments, \
                    client_message_id, created_at, edited_at, deleted_at) VALUES ";
    let mut seq = 0usize;
    while seq < count {
        let n = SEED_BATCH.min(count - seq);
        let txn = db.begin().await?;
        let mut values: Vec<Value> = Vec::with_capacity(n * 12);
        for i in 0..n {
            let s = (seq + i + 1) as i64;
            values.extend([
                tenant.into(),
                Uuid::now_v7().into(),
                conversation.into(),
                s.into(),
                users[(s % 2) as usize].into(),
                format!("history message number {s} with some ordinary words in it").into(),
                Value::Uuid(None),
                Value::Json(Some(Box::new(json!([])))),
                Value::String(None),
                at(s).into(),
                Value::ChronoDateTimeUtc(None),
                Value::ChronoDateTimeUtc(None),
            ]);
        }
        let sql = format!("{sql_head}{}", placeholders(n, 12));
        txn.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await?;
        // The schema's triggers note new messages for the search index, which the store's writer fills
        // before each commit (migration m0005); so does the seed, so the file holds what the store writes.
        for sql in SEARCH_INDEX_FLUSH {
            txn.execute_unprepared(sql).await?;
        }
        txn.commit().await?;
        seq += n;
    }
    // Both members' sides and the sequence, so the conversation is whole.
    for (user, peer) in [(users[0], users[1]), (users[1], users[0])] {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO conversations (tenant_id, conversation_id, user_id, kind, peer_id, last_message_id, last_message_seq, \
             last_message_sender, last_message_at, last_activity_at, unread_count, read_seq, read_at, delivered_seq, \
             delivered_at, cleared_seq, hidden, muted, archived, created_at) \
             VALUES (?, ?, ?, 'direct', ?, NULL, ?, ?, ?, ?, 0, ?, NULL, ?, NULL, 0, false, false, false, ?)",
            vec![
                tenant.into(), conversation.into(), user.into(), peer.into(), (count as i64).into(), users[0].into(),
                at(count as i64).into(), at(count as i64).into(), (count as i64).into(), (count as i64).into(), at(0).into(),
            ],
        ))
        .await?;
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO conversation_seqs (tenant_id, conversation_id, last_seq) VALUES (?, ?, ?)",
        vec![tenant.into(), conversation.into(), (count as i64).into()],
    ))
    .await?;
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

const MESSAGE_COLUMNS: &[&str] = &[
    "tenant_id",
    "id",
    "conversation_id",
    "seq",
    "sender_id",
    "text",
    "reply_to",
    "attachments",
    "client_message_id",
    "created_at",
    "edited_at",
    "deleted_at",
];

const RAW_PAGE_SQL: &str = "SELECT m.tenant_id, m.id, m.conversation_id, m.seq, m.sender_id, m.text, m.reply_to, \
     m.attachments, m.client_message_id, m.created_at, m.edited_at, m.deleted_at FROM messages m \
     WHERE m.tenant_id = ? AND m.conversation_id = ? AND m.seq > ? AND m.seq < ? \
     AND NOT EXISTS (SELECT 1 FROM message_hides h WHERE h.tenant_id = m.tenant_id AND h.user_id = ? AND h.message_id = m.id) \
     ORDER BY m.seq DESC LIMIT ?";

pub(super) async fn run_b5(suite: &Suite) -> anyhow::Result<BenchResult> {
    let sizes: Vec<usize> = if !suite.b5_messages.is_empty() {
        suite.b5_messages.clone()
    } else if suite.quick {
        vec![20_000]
    } else {
        vec![1_000_000]
    };
    let iterations = if suite.quick { 300 } else { 3_000 };
    let mut samples = Samples::default();
    let mut notes =
        vec!["10M messages is not run by default (`--b5-messages 10000000`; seeding takes about 10 minutes and several GB here)".to_owned()];
    for &m in &sizes {
        let key = |what: &str| format!("m{m}_{what}");
        let target = if m >= 10_000_000 { "<= 3 ms" } else { "<= 2 ms" };
        samples.metric(&key("newest_p99_ms"), "lower", Some(target));
        samples.metric(&key("deep_p99_ms"), "lower", Some(target));
        samples.metric(&key("newest_p50_ms"), "lower", None);
        samples.metric(&key("deep_p50_ms"), "lower", None);
        samples.metric(&key("deep_over_newest_p50"), "lower", Some("<= 1.3"));
        let (store, dir) = open_store(suite, "b5").await?;
        let db = store.connection().clone();
        let tenant = Uuid::now_v7();
        let conversation = Uuid::now_v7();
        let users = [Uuid::now_v7(), Uuid::now_v7()];
        progress(format!("B5: seeding {m} messages"));
        let t = Instant::now();
        seed_messages(&db, tenant, conversation, users, m).await?;
        progress(format!("B5: seeded in {:.1} s", t.elapsed().as_secs_f64()));
        let repos = Repositories::from_store(Arc::new(store));
        for round in 0..suite.rounds {
            let query = |before: Option<i64>| MessagePageQuery {
                before: before.map(Seq::new),
                ..MessagePageQuery::all(
                    TenantId::from_uuid(tenant),
                    ConversationId::from_uuid(conversation),
                    UserId::from_uuid(users[0]),
                    PageOrder::NewestFirst,
                    PAGE,
                )
            };
            let raw = |before: i64| {
                let db = db.clone();
                async move {
                    let values: Vec<Value> = vec![
                        tenant.into(),
                        conversation.into(),
                        0i64.into(),
                        before.into(),
                        users[0].into(),
                        (PAGE as i64).into(),
                    ];
                    raw_rows(&db, RAW_PAGE_SQL, values, MESSAGE_COLUMNS).await
                }
            };
            let deep = 100i64;
            let newest_raw_before = m as i64 + 1;
            // Alternate which side goes first from round to round.
            let run_ours = async || -> anyhow::Result<(Histogram<u64>, Histogram<u64>)> {
                let newest = time(iterations, || async { Ok(repos.messages.page(&query(None)).await?.len()) }).await?;
                let deep_h =
                    time(iterations, || async { Ok(repos.messages.page(&query(Some(deep))).await?.len()) }).await?;
                Ok((newest, deep_h))
            };
            let (ours, base) = if round % 2 == 0 {
                let o = run_ours().await?;
                let b = (time(iterations, || raw(newest_raw_before)).await?, time(iterations, || raw(deep)).await?);
                (o, b)
            } else {
                let b = (time(iterations, || raw(newest_raw_before)).await?, time(iterations, || raw(deep)).await?);
                (run_ours().await?, b)
            };
            for (who, (newest, deep_h)) in [(OURS, &ours), ("raw", &base)] {
                let (n, d) = (Latency::of(newest), Latency::of(deep_h));
                samples.add(&key("newest_p50_ms"), who, n.p50_ms);
                samples.add(&key("newest_p99_ms"), who, n.p99_ms);
                samples.add(&key("deep_p50_ms"), who, d.p50_ms);
                samples.add(&key("deep_p99_ms"), who, d.p99_ms);
                samples.add(&key("deep_over_newest_p50"), who, d.p50_ms / n.p50_ms);
                progress(format!(
                    "B5 {who}: newest p50 {:.3} p99 {:.3} ms, deep p50 {:.3} p99 {:.3} ms",
                    n.p50_ms, n.p99_ms, d.p50_ms, d.p99_ms
                ));
            }
        }
        drop(repos);
        let _ = std::fs::remove_dir_all(&dir);
    }
    if !suite.quick {
        notes.push("B5 durations are in-process store calls (no HTTP)".to_owned());
    }
    let params = json!({ "messages": sizes, "page": PAGE, "iterations": iterations, "rounds": suite.rounds, "backend": "sqlite (file, WAL)" });
    Ok(BenchResult::new("B5", suite, params, &samples, notes))
}

// ----- B6 -----

const CONVERSATION_COLUMNS: &[&str] = &[
    "tenant_id",
    "conversation_id",
    "user_id",
    "kind",
    "peer_id",
    "last_message_id",
    "last_message_seq",
    "last_message_sender",
    "last_message_at",
    "last_activity_at",
    "unread_count",
    "read_seq",
    "read_at",
    "delivered_seq",
    "delivered_at",
    "cleared_seq",
    "hidden",
    "muted",
    "archived",
    "created_at",
];

const RAW_LIST_SQL: &str = "SELECT tenant_id, conversation_id, user_id, kind, peer_id, last_message_id, last_message_seq, \
     last_message_sender, last_message_at, last_activity_at, unread_count, read_seq, read_at, delivered_seq, delivered_at, \
     cleared_seq, hidden, muted, archived, created_at FROM conversations \
     WHERE tenant_id = ? AND user_id = ? AND hidden = ? AND archived = ? \
     ORDER BY last_activity_at DESC, conversation_id DESC LIMIT ?";

/// The total the store keeps on write (migration m0002), read raw: the same SQL as ours.
const RAW_UNREAD_SQL: &str = "SELECT total AS n FROM user_unread_totals WHERE tenant_id = ? AND user_id = ?";

/// The total summed on read over every side (what the store did before m0002): the `raw-sum` baseline.
const RAW_UNREAD_SUM_SQL: &str =
    "SELECT CAST(COALESCE(SUM(unread_count), 0) AS BIGINT) AS n FROM conversations WHERE tenant_id = ? AND user_id = ?";

async fn seed_conversations(db: &DatabaseConnection, tenant: Uuid, user: Uuid, count: usize) -> anyhow::Result<()> {
    // The user's sides plus the peers' sides, as real direct conversations have.
    let head = "INSERT INTO conversations (tenant_id, conversation_id, user_id, kind, peer_id, last_message_id, \
                last_message_seq, last_message_sender, last_message_at, last_activity_at, unread_count, read_seq, read_at, \
                delivered_seq, delivered_at, cleared_seq, hidden, muted, archived, created_at) VALUES ";
    let cols = 20;
    let per_batch = 32_000 / cols / 2;
    let mut done = 0;
    while done < count {
        let n = per_batch.min(count - done);
        let mut values: Vec<Value> = Vec::with_capacity(n * 2 * cols);
        for i in 0..n {
            let k = (done + i) as i64;
            let conversation = Uuid::now_v7();
            let peer = Uuid::now_v7();
            let last = 1 + k % 40;
            for (me, other, unread) in [(user, peer, k % 3), (peer, user, 0)] {
                values.extend([
                    tenant.into(),
                    conversation.into(),
                    me.into(),
                    "direct".into(),
                    other.into(),
                    Uuid::now_v7().into(),
                    last.into(),
                    peer.into(),
                    at(k).into(),
                    at(k).into(),
                    unread.into(),
                    (last - unread).into(),
                    Value::ChronoDateTimeUtc(None),
                    last.into(),
                    Value::ChronoDateTimeUtc(None),
                    0i64.into(),
                    false.into(),
                    false.into(),
                    false.into(),
                    at(0).into(),
                ]);
            }
        }
        let txn = db.begin().await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("{head}{}", placeholders(n * 2, cols)),
            values,
        ))
        .await?;
        txn.commit().await?;
        done += n;
    }
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

pub(super) async fn run_b6(suite: &Suite) -> anyhow::Result<BenchResult> {
    let count = if suite.quick { 1_000 } else { 10_000 };
    let iterations = if suite.quick { 300 } else { 3_000 };
    let mut samples = Samples::default();
    samples.metric("list_p99_ms", "lower", Some("<= 2 ms"));
    samples.metric("list_p50_ms", "lower", None);
    samples.metric("unread_p99_ms", "lower", Some("<= 1 ms"));
    samples.metric("unread_p50_ms", "lower", None);
    let (store, dir) = open_store(suite, "b6").await?;
    let db = store.connection().clone();
    let tenant = Uuid::now_v7();
    let user = Uuid::now_v7();
    progress(format!("B6: seeding {count} conversations"));
    seed_conversations(&db, tenant, user, count).await?;
    let repos = Repositories::from_store(Arc::new(store));
    let list_query = ConversationListQuery {
        tenant: TenantId::from_uuid(tenant),
        user: UserId::from_uuid(user),
        include_archived: false,
        before: None,
        limit: PAGE,
    };
    for round in 0..suite.rounds {
        let ours = async || -> anyhow::Result<(Histogram<u64>, Histogram<u64>)> {
            let list = time(iterations, || async { Ok(repos.conversations.list(&list_query).await?.len()) }).await?;
            let unread = time(iterations, || async {
                Ok(repos.conversations.total_unread(TenantId::from_uuid(tenant), UserId::from_uuid(user)).await?
                    as usize)
            })
            .await?;
            Ok((list, unread))
        };
        let raw = async || -> anyhow::Result<(Histogram<u64>, Histogram<u64>, Histogram<u64>)> {
            let list = time(iterations, || {
                let db = db.clone();
                async move {
                    let values: Vec<Value> =
                        vec![tenant.into(), user.into(), false.into(), false.into(), (PAGE as i64).into()];
                    raw_rows(&db, RAW_LIST_SQL, values, CONVERSATION_COLUMNS).await
                }
            })
            .await?;
            let unread = time(iterations, || {
                let db = db.clone();
                async move { raw_rows(&db, RAW_UNREAD_SQL, vec![tenant.into(), user.into()], &["n"]).await }
            })
            .await?;
            let unread_sum = time(iterations, || {
                let db = db.clone();
                async move { raw_rows(&db, RAW_UNREAD_SUM_SQL, vec![tenant.into(), user.into()], &["n"]).await }
            })
            .await?;
            Ok((list, unread, unread_sum))
        };
        let (o, b) = if round % 2 == 0 {
            let o = ours().await?;
            (o, raw().await?)
        } else {
            let b = raw().await?;
            (ours().await?, b)
        };
        let sum = Latency::of(&b.2);
        samples.add("unread_p50_ms", "raw-sum", sum.p50_ms);
        samples.add("unread_p99_ms", "raw-sum", sum.p99_ms);
        progress(format!("B6 raw-sum: unread p50 {:.3} p99 {:.3} ms", sum.p50_ms, sum.p99_ms));
        for (who, (list, unread)) in [(OURS, (&o.0, &o.1)), ("raw", (&b.0, &b.1))] {
            let (l, u) = (Latency::of(list), Latency::of(unread));
            samples.add("list_p50_ms", who, l.p50_ms);
            samples.add("list_p99_ms", who, l.p99_ms);
            samples.add("unread_p50_ms", who, u.p50_ms);
            samples.add("unread_p99_ms", who, u.p99_ms);
            progress(format!(
                "B6 {who}: list p50 {:.3} p99 {:.3} ms, unread p50 {:.3} p99 {:.3} ms",
                l.p50_ms, l.p99_ms, u.p50_ms, u.p99_ms
            ));
        }
    }
    drop(repos);
    let _ = std::fs::remove_dir_all(&dir);
    let params = json!({ "conversations": count, "page": PAGE, "iterations": iterations, "rounds": suite.rounds, "backend": "sqlite (file, WAL)" });
    Ok(BenchResult::new("B6", suite, params, &samples, Vec::new()))
}
