//! B1, first measurement: direct messages sent through the store's unit of work with
//! `MessagingManager::send` from many concurrent tasks, beside a raw program writing the same rows with
//! the same durability (one transaction per batch of the store's largest batch size; see `raw_program`).
//!
//! ```text
//! cargo run --release -p chat-infrastructure --example b1_send -- [--messages N] [--concurrency C] [--pairs P] [--group N]
//! ```
//! `--group N` also sends `--group-messages M` (default 500) messages into one group of N members: the
//! storage side of B3 (SPEC §8: >= 50 msg/s stored into a 1,000-member group).
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
use chat_infrastructure::persistence::{Migrator, SeaOrmChatStore, StoreOptions};
use chrono::Utc;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, TransactionTrait, Value,
};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

struct Args {
    messages: usize,
    concurrency: usize,
    pairs: usize,
    /// B3's storage side: members of one group to send into after the direct messages (0: skip).
    group: usize,
    group_messages: usize,
}

fn args() -> Result<Args> {
    let mut a = Args { messages: 20_000, concurrency: 256, pairs: 100, group: 0, group_messages: 500 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it.next().context("a value after each flag")?.parse()?;
        match flag.as_str() {
            "--messages" => a.messages = value,
            "--concurrency" => a.concurrency = value,
            "--pairs" => a.pairs = value,
            "--group" => a.group = value,
            "--group-messages" => a.group_messages = value,
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

async fn send_one(repos: &Repositories, tenant: TenantId, from: UserId, to: UserId, n: usize) -> Result<()> {
    let cmd = SendMessage {
        tenant,
        sender: from,
        target: SendTarget::User(to),
        text: MessageText::parse(&format!("benchmark message number {n}"), MessageText::DEFAULT_MAX)?,
        reply_to: None,
        attachments: Vec::new(),
        client_message_id: None,
        now: Utc::now(),
    };
    repos.uow.transact(move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await })).await?;
    Ok(())
}

/// Closed loop: `concurrency` tasks send back to back until `messages` are acknowledged.
async fn store_peak(repos: &Repositories, tenant: TenantId, pairs: &[(UserId, UserId)], a: &Args) -> Result<Outcome> {
    // Warm-up: every direct conversation exists before timing starts.
    for (i, (x, y)) in pairs.iter().enumerate() {
        send_one(repos, tenant, *x, *y, i).await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let pairs = Arc::new(pairs.to_vec());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (repos, next, pairs, total) = (repos.clone(), next.clone(), pairs.clone(), a.messages);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let (x, y) = pairs[n % pairs.len()];
                let (from, to) = if n % 2 == 0 { (x, y) } else { (y, x) };
                let t = Instant::now();
                send_one(&repos, tenant, from, to, n).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(a.messages);
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    Ok(Outcome { rate: a.messages as f64 / elapsed.as_secs_f64(), p50: pct(&lat, 0.5), p99: pct(&lat, 0.99) })
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
            send_one(&repos, tenant, x, y, n).await.map(|()| t.elapsed())
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

/// The baseline: the same rows per message as the store writes (seq counter, message, both sides, both
/// streams, the event and its two positions; and, for every send that reads the peer's message, the read
/// receipt with its own event and positions), written with plain statements, one transaction per batch of
/// `batch` messages (the store's largest batch), on a store-created database with the same schema,
/// triggers and pragmas (`synchronous=FULL` in WAL): the same durability.
async fn raw_program(db: &DatabaseConnection, pairs: &[(UserId, UserId)], a: &Args, batch: usize) -> Result<f64> {
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
    while n < a.messages {
        let txn = db.begin().await?;
        for _ in 0..batch.min(a.messages - n) {
            let (c, x, y) = conversations[n % conversations.len()];
            let (from, to) = if n % 2 == 0 { (x, y) } else { (y, x) };
            let at = Utc::now();
            let row = txn
                .query_one_raw(raw(
                    backend,
                    "INSERT INTO conversation_seqs (tenant_id, conversation_id, last_seq) VALUES (?, ?, 1) \
                     ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET last_seq = conversation_seqs.last_seq + 1 \
                     RETURNING last_seq",
                    vec![tenant.into(), c.into()],
                ))
                .await?
                .context("seq")?;
            let seq: i64 = row.try_get("", "last_seq")?;
            let id = Uuid::now_v7();
            txn.execute_raw(raw(
                backend,
                "INSERT INTO messages (tenant_id, id, conversation_id, seq, sender_id, text, attachments, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
                "UPDATE conversations SET last_message_id = ?, last_message_seq = ?, last_message_sender = ?, \
                 last_message_at = ?, last_activity_at = ?, \
                 unread_count = CASE WHEN user_id = ? THEN 0 ELSE unread_count + 1 END, \
                 read_seq = CASE WHEN user_id = ? THEN ? ELSE read_seq END \
                 WHERE tenant_id = ? AND conversation_id = ?",
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
            let payload = serde_json::json!({"event": "messageCreated", "id": id});
            raw_event(&txn, tenant, (from, to), payload, at).await?;
            // Sending reads the conversation: the peer's message before it becomes read, which the store
            // records as a receipt and announces to both members (every send after a conversation's first
            // one, since the pair alternates).
            if seq > 1 {
                txn.execute_raw(raw(
                    backend,
                    "INSERT INTO receipts (tenant_id, conversation_id, user_id, kind, up_to_seq, at) \
                     VALUES (?, ?, ?, 'read', ?, ?) ON CONFLICT DO NOTHING",
                    vec![tenant.into(), c.into(), from.into(), (seq - 1).into(), at.into()],
                ))
                .await?;
                let payload = serde_json::json!({"event": "receipt", "conversation": c, "upTo": seq - 1});
                raw_event(&txn, tenant, (from, to), payload, at).await?;
            }
            n += 1;
        }
        txn.commit().await?;
    }
    Ok(a.messages as f64 / start.elapsed().as_secs_f64())
}

/// One event for both members of a pair: both stream positions move, the event is stored once, and each
/// member gets a position row.
async fn raw_event(
    txn: &DatabaseTransaction,
    tenant: Uuid,
    (a, b): (Uuid, Uuid),
    payload: serde_json::Value,
    at: chrono::DateTime<Utc>,
) -> Result<()> {
    let backend = txn.get_database_backend();
    let (u1, u2) = if a < b { (a, b) } else { (b, a) };
    let rows = txn
        .query_all_raw(raw(
            backend,
            "INSERT INTO user_streams (tenant_id, user_id, last_event_seq, pruned_event_seq) VALUES (?, ?, 1, 0), (?, ?, 1, 0) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET last_event_seq = user_streams.last_event_seq + 1 \
             RETURNING user_id, last_event_seq",
            vec![tenant.into(), u1.into(), tenant.into(), u2.into()],
        ))
        .await?;
    let event = Uuid::now_v7();
    txn.execute_raw(raw(
        backend,
        "INSERT INTO events (tenant_id, id, payload, at) VALUES (?, ?, ?, ?)",
        vec![tenant.into(), event.into(), Value::Json(Some(Box::new(payload))), at.into()],
    ))
    .await?;
    let mut values = Vec::new();
    for r in rows {
        let u: Uuid = r.try_get("", "user_id")?;
        let s: i64 = r.try_get("", "last_event_seq")?;
        values.extend([tenant.into(), u.into(), s.into(), event.into(), at.into()]);
    }
    txn.execute_raw(raw(
        backend,
        "INSERT INTO user_events (tenant_id, user_id, event_seq, event_id, at) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
        values,
    ))
    .await?;
    Ok(())
}

async fn run_backend(label: &str, store_url: &str, raw_url: &str, a: &Args) -> Result<()> {
    let store = SeaOrmChatStore::connect(StoreOptions::new(store_url)).await?;
    let settings: Vec<String> = store.effective_settings().iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("[{label}] {}", settings.join(" "));
    let repos = Repositories::from_store(Arc::new(store));
    let tenant = TenantId::from_uuid(Uuid::now_v7());
    let pairs = seed(&repos, tenant, a.pairs).await?;
    let peak = store_peak(&repos, tenant, &pairs, a).await?;
    let half = store_paced(&repos, tenant, &pairs, peak.rate / 2.0).await?;

    let raw_store = SeaOrmChatStore::connect(StoreOptions::new(raw_url)).await?; // same schema and pragmas
    let raw_db = raw_store.connection().clone();
    Migrator::up(&raw_db, None).await?;
    let baseline = raw_program(&raw_db, &pairs, a, StoreOptions::DEFAULT_MAX_BATCH).await?;
    println!(
        "[{label}] store: {:.0} msg/s, ack p50 {:.2} ms, p99 {:.2} ms | at half peak ({:.0} msg/s offered): p50 {:.2} ms, p99 {:.2} ms",
        peak.rate, peak.p50, peak.p99, half.rate, half.p50, half.p99
    );
    println!("[{label}] raw program: {baseline:.0} msg/s | ratio store/raw = {:.2}", peak.rate / baseline);
    if a.group > 0 {
        let (rate, p50, p99) = group_sends(&repos, tenant, a.group, a.group_messages).await?;
        println!(
            "[{label}] group of {} members: {rate:.0} msg/s stored, ack p50 {p50:.2} ms, p99 {p99:.2} ms",
            a.group
        );
    }
    Ok(())
}

/// B3's storage side: `messages` sends into one group of `members`, from 32 concurrent senders (members
/// taking turns), each stored with its side updates and one event per member.
async fn group_sends(
    repos: &Repositories,
    tenant: TenantId,
    members: usize,
    messages: usize,
) -> Result<(f64, f64, f64)> {
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
    let users = Arc::new(users);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (repos, users, next) = (repos.clone(), users.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= messages {
                    break;
                }
                let cmd = SendMessage {
                    tenant,
                    sender: users[(n * 7919) % users.len()],
                    target: SendTarget::Conversation(group),
                    text: MessageText::parse(&format!("group message {n}"), MessageText::DEFAULT_MAX)?,
                    reply_to: None,
                    attachments: Vec::new(),
                    client_message_id: None,
                    now: Utc::now(),
                };
                let t = Instant::now();
                repos
                    .uow
                    .transact(move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await }))
                    .await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(messages);
    for t in tasks {
        lat.extend(t.await??);
    }
    let rate = messages as f64 / start.elapsed().as_secs_f64();
    lat.sort_unstable();
    Ok((rate, pct(&lat, 0.5), pct(&lat, 0.99)))
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    println!("B1: {} direct messages, {} concurrent senders, {} conversations", a.messages, a.concurrency, a.pairs);
    let dir = std::env::temp_dir().join(format!("chat-b1-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let store_url = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    let raw_url = format!("sqlite://{}?mode=rwc", dir.join("raw.db").display());
    let result = run_backend("sqlite strict", &store_url, &raw_url, &a).await;
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
            let result = run_backend("postgres", &with(&s1), &with(&s2), &a).await;
            for s in [&s1, &s2] {
                admin.execute_unprepared(&format!("DROP SCHEMA {s} CASCADE")).await?;
            }
            result?;
        }
        _ => println!("[postgres] skipped: set CHAT_BENCH_DATABASE_URL or CHAT_TEST_DATABASE_URL"),
    }
    Ok(())
}
