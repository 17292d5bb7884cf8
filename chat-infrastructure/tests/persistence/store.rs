//! The store's own guarantees, on every backend.

use std::sync::Arc;
use std::time::Duration;

use chat_domain::conversation::{Conversation, ConversationKind, LastMessage};
use chat_domain::event::DomainEvent;
use chat_domain::message::DeleteScope;
use chat_domain::message::MessageSearchQuery;
use chat_domain::messaging::{Actor, MessagingManager, SendTarget};
use chat_domain::settings::TenantSettings;
use chat_domain::testing::fixtures::{self, at, seed_user, send, send_cmd};
use chat_domain::uow::Transaction;
use chat_domain::user::{ChatUser, UserSearchQuery};
use chat_domain::{ConversationId, DomainError, Repositories, Seq, TenantId, UserId, WorkError};
use chat_infrastructure::persistence::{
    Durability, IntegrityProblem, Migrator, SeaOrmChatStore, SqliteWriter, StoreOptions,
};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_orm_migration::MigratorTrait;

use crate::support;

fn repos(store: &SeaOrmChatStore) -> Repositories {
    Repositories::from_store(Arc::new(store.clone()))
}

async fn assert_intact(name: &str, store: &SeaOrmChatStore, tenant: TenantId) {
    let report = store.check_integrity(Some(tenant)).await.expect("integrity check");
    assert!(report.is_ok(), "{name}: {:?}", report.problems);
}

/// Holds the store's writer inside a unit until the returned sender fires (or is dropped), so that units
/// submitted meanwhile queue up and are committed as one batch. Returns once the writer is inside it.
async fn hold_writer(
    repos: &Repositories,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<chat_domain::uow::Committed<()>, WorkError>>) {
    let (release, hold) = tokio::sync::oneshot::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let blocker = {
        let repos = repos.clone();
        tokio::spawn(async move {
            repos
                .uow
                .transact(move |_tx| {
                    Box::pin(async move {
                        let _ = started.send(());
                        hold.await.map_err(|_| DomainError::NotFound("x").into())
                    })
                })
                .await
        })
    };
    running.await.expect("the blocker runs");
    (release, blocker)
}

/// Waits (with a timeout) until `units` units wait in the writer's queue behind [`hold_writer`].
async fn wait_queued(name: &str, store: &SeaOrmChatStore, units: usize) {
    let queued = tokio::time::timeout(Duration::from_secs(10), async {
        while store.queued_units() < units {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(queued.is_ok(), "{name}: {units} units never queued behind the blocker");
}

#[tokio::test]
async fn migrations_run_twice_are_a_no_op() {
    for (name, store) in support::every_backend().await {
        Migrator::up(store.connection(), None).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        Migrator::up(store.connection(), None).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let url = support::sqlite_file_url();
    let first = SeaOrmChatStore::connect_url(&url).await.expect("first start");
    drop(first);
    SeaOrmChatStore::connect_url(&url).await.expect("second start on a migrated file");
}

#[tokio::test]
async fn sqlite_file_runs_wal_with_the_durability_asked_for() {
    let strict = support::sqlite_file().await;
    let settings = strict.effective_settings().to_vec();
    let get = |s: &[(String, String)], k: &str| s.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get(&settings, "journal_mode").as_deref(), Some("wal"));
    assert_eq!(get(&settings, "synchronous").as_deref(), Some("FULL"));
    assert_eq!(get(&settings, "foreign_keys").as_deref(), Some("1"));
    assert_eq!(get(&settings, "busy_timeout").as_deref(), Some("5000"));
    assert_eq!(get(&settings, "cache_size").as_deref(), Some("-65536"), "a 64 MiB page cache");
    assert_eq!(get(&settings, "temp_store").as_deref(), Some("2"), "temporary files in memory");
    let mut options = StoreOptions::new(support::sqlite_file_url());
    options.database.durability = Durability::Fast;
    let fast = SeaOrmChatStore::connect(options).await.expect("fast store");
    assert_eq!(get(fast.effective_settings(), "synchronous").as_deref(), Some("NORMAL"));
}

/// A SQLite file is written through the writer's own connection on the C API unless the options ask for the
/// async driver; an in-memory database, which lives inside the pool's one connection, always goes through it.
#[tokio::test]
async fn a_sqlite_file_is_written_on_the_c_api_unless_asked_otherwise() {
    let writer = |store: &SeaOrmChatStore| {
        store.effective_settings().iter().find(|(n, _)| n == "writer").map(|(_, v)| v.clone()).expect("writer")
    };
    assert_eq!(writer(&support::sqlite_file().await), "sqlite-c-api");
    assert_eq!(writer(&support::sqlite_memory().await), "sqlite-driver");
    let mut options = StoreOptions::new(support::sqlite_file_url());
    options.database.sqlite_writer = SqliteWriter::Driver;
    assert_eq!(writer(&SeaOrmChatStore::connect(options).await.expect("store")), "sqlite-driver");
    let mut memory = StoreOptions::new("sqlite::memory:");
    memory.database.sqlite_writer = SqliteWriter::CApi;
    assert_eq!(writer(&SeaOrmChatStore::connect(memory).await.expect("store")), "sqlite-driver");
    if let Some(pg) = support::postgres().await {
        assert_eq!(writer(&pg), "postgres-driver");
    }
}

/// What the C API writer acknowledged is on disk: a store opened on the file afterwards reads it all.
#[tokio::test]
async fn the_c_api_writer_leaves_every_acknowledged_send_on_disk() {
    let url = support::sqlite_file_url();
    let store = SeaOrmChatStore::connect_url(&url).await.expect("store");
    let r = repos(&store);
    let tenant = fixtures::tenant();
    let (a, b) = (seed_user(&r, tenant, "a").await, seed_user(&r, tenant, "b").await);
    let first = send(&r, send_cmd(tenant, a, SendTarget::User(b), "one", at(1))).await;
    let conversation = first.value.message.conversation();
    send(&r, send_cmd(tenant, b, SendTarget::Conversation(conversation), "two", at(2))).await;
    drop((r, store));

    let reopened = SeaOrmChatStore::connect_url(&url).await.expect("reopened");
    let texts: Vec<String> = fixtures::history(&repos(&reopened), tenant, conversation, a)
        .await
        .iter()
        .filter_map(|m| m.text().map(|t| t.as_str().to_owned()))
        .collect();
    assert_eq!(texts, ["one", "two"]);
    assert_intact("reopened", &reopened, tenant).await;
}

/// A unit that writes to most tables and then fails.
async fn write_everything_then_fail(
    tx: &mut dyn Transaction,
    tenant: TenantId,
    a: UserId,
    b: UserId,
    conversation: ConversationId,
) -> Result<(), WorkError> {
    let person = chat_domain::text::PersonName::parse("ghost", None, None)?;
    tx.save_user(&ChatUser::new(tenant, a, person, at(0))).await?;
    for (user, peer) in [(a, b), (b, a)] {
        let side = Conversation::open(tenant, conversation, user, ConversationKind::Direct { peer }, Seq::ZERO, at(0));
        tx.save_conversation(&side).await?;
    }
    let seq = tx.next_seq(tenant, conversation).await?;
    let draft = fixtures::Draft::new(tenant, conversation, a, at(1));
    let message = draft.to_new_message("never stored").into_message(seq);
    tx.insert_message(&message).await?;
    let last = LastMessage { id: message.id(), seq, sender: a, at: at(1) };
    tx.record_message_on_sides(tenant, conversation, &last).await?;
    tx.record_event(tenant, &[a, b], DomainEvent::MessageCreated { message: message.to_parts() }, at(1)).await?;
    Err(DomainError::NotFound("anything").into())
}

#[tokio::test]
async fn a_unit_that_fails_midway_leaves_no_partial_rows() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let (a, b, conversation) = (fixtures::user_id(), fixtures::user_id(), fixtures::conversation_id());
        let result =
            repos.uow.transact(move |tx| Box::pin(write_everything_then_fail(tx, tenant, a, b, conversation))).await;
        assert!(matches!(result, Err(WorkError::Domain(DomainError::NotFound(_)))), "{name}");
        assert!(repos.users.find(tenant, a).await.expect("read").is_none(), "{name}: user");
        assert!(repos.conversations.sides(tenant, conversation).await.expect("read").is_empty(), "{name}: sides");
        assert_eq!(repos.events.window(tenant, a).await.expect("read").latest.value(), 0, "{name}: events");
        for table in
            ["chat_users", "conversations", "conversation_seqs", "messages", "events", "user_events", "user_streams"]
        {
            let row = store
                .connection()
                .query_one_raw(sea_orm::Statement::from_string(
                    store.connection().get_database_backend(),
                    format!("SELECT COUNT(*) AS n FROM {table}"),
                ))
                .await
                .expect("count")
                .expect("a row");
            assert_eq!(row.try_get::<i64>("", "n").expect("n"), 0, "{name}: {table} has rows");
        }
        assert_intact(name, &store, tenant).await;
    }
}

#[tokio::test]
async fn one_failing_unit_in_a_batch_leaves_the_others_committed() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let a = seed_user(&repos, tenant, "a").await;
        let b = seed_user(&repos, tenant, "b").await;
        let c = seed_user(&repos, tenant, "c").await;
        // Hold the writer inside a first unit so the next three queue up and are committed as one batch.
        let (release, blocker) = hold_writer(&repos).await;
        let first = queue_send(&repos, send_cmd(tenant, a, SendTarget::User(b), "one", at(1)), false);
        let failing = queue_send(&repos, send_cmd(tenant, a, SendTarget::User(c), "two", at(2)), true);
        let third = queue_send(&repos, send_cmd(tenant, b, SendTarget::User(c), "three", at(3)), false);
        // Release the writer only once the three units wait in its queue, so they share one batch.
        wait_queued(name, &store, 3).await;
        let _ = release.send(());
        blocker.await.expect("join").expect("blocker commits");
        let first = first.await.expect("join").expect("first commits");
        assert!(failing.await.expect("join").is_err(), "{name}");
        let third = third.await.expect("join").expect("third commits");
        assert_eq!(first.value.message.seq(), Seq::new(1));
        assert_eq!(third.value.message.seq(), Seq::new(1));
        assert!(repos.messages.find(tenant, first.value.message.id()).await.expect("read").is_some(), "{name}");
        assert!(repos.messages.find(tenant, third.value.message.id()).await.expect("read").is_some(), "{name}");
        assert!(repos.conversations.find_direct(tenant, a, c).await.expect("read").is_none(), "{name}: a-c exists");
        assert_eq!(first.value.message.seq(), Seq::new(1), "{name}");
        assert_eq!(first.events.len(), 1, "{name}");
        assert_intact(name, &store, tenant).await;
    }
}

async fn concurrent_sends_from_two_stores(name: &str, one: SeaOrmChatStore, two: SeaOrmChatStore) {
    let (r1, r2) = (repos(&one), repos(&two));
    let tenant = fixtures::tenant();
    let a = seed_user(&r1, tenant, "a").await;
    let b = seed_user(&r1, tenant, "b").await;
    let first = send(&r1, send_cmd(tenant, a, SendTarget::User(b), "hello", at(1))).await;
    let conversation = first.value.message.conversation();
    let per_store = 60;
    let mut tasks = Vec::new();
    for i in 0..per_store {
        for (repos, sender) in [(r1.clone(), a), (r2.clone(), b)] {
            tasks.push(tokio::spawn(async move {
                let cmd = send_cmd(tenant, sender, SendTarget::Conversation(conversation), &format!("m{i}"), at(2 + i));
                repos
                    .uow
                    .transact(move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await }))
                    .await
                    .map(|c| c.value.message.seq().value())
            }));
        }
    }
    let mut seqs = vec![1];
    for t in tasks {
        seqs.push(t.await.expect("join").unwrap_or_else(|e| panic!("{name}: send failed: {e}")));
    }
    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=(2 * per_store + 1)).collect();
    assert_eq!(seqs, expected, "{name}: seqs are not gap-free");
    assert_intact(name, &one, tenant).await;
}

#[tokio::test]
async fn two_store_instances_on_one_database_assign_gap_free_seqs() {
    let url = support::sqlite_file_url();
    let one = SeaOrmChatStore::connect_url(&url).await.expect("first instance");
    let two = SeaOrmChatStore::connect_url(&url).await.expect("second instance");
    concurrent_sends_from_two_stores("sqlite-file", one, two).await;
    // A writer on SQLite's C API and one on the async driver share the file's lock and read each other's
    // rows (the same encodings for ids, timestamps and JSON).
    let url = support::sqlite_file_url();
    let c_api = SeaOrmChatStore::connect_url(&url).await.expect("C API writer");
    let mut options = StoreOptions::new(url);
    options.database.sqlite_writer = SqliteWriter::Driver;
    let driver = SeaOrmChatStore::connect(options).await.expect("driver writer");
    concurrent_sends_from_two_stores("sqlite-file, C API and driver writers", c_api, driver).await;
    match support::postgres_url().await {
        Some(url) => {
            let one = SeaOrmChatStore::connect(StoreOptions::new(url.clone())).await.expect("first instance");
            let two = SeaOrmChatStore::connect(StoreOptions::new(url)).await.expect("second instance");
            concurrent_sends_from_two_stores("postgres", one, two).await;
        }
        None => eprintln!("{} is not set; the PostgreSQL leg is skipped", support::PG_ENV),
    }
}

#[tokio::test]
async fn many_concurrent_sends_keep_every_counter_consistent() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let users = fixtures::seed_users(&repos, tenant, 6).await;
        let mut tasks = Vec::new();
        for i in 0..150usize {
            let (from, to) = (users[i % 6], users[(i * 7 + 1) % 6]);
            if from == to {
                continue;
            }
            let repos = repos.clone();
            tasks.push(tokio::spawn(async move {
                let cmd = send_cmd(tenant, from, SendTarget::User(to), "load", at(i64::try_from(i).unwrap_or(0)));
                repos
                    .uow
                    .transact(move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await }))
                    .await
            }));
        }
        for t in tasks {
            t.await.expect("join").unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_intact(name, &store, tenant).await;
    }
}

#[tokio::test]
async fn search_and_user_filters_treat_their_syntax_as_plain_text() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let a = seed_user(&repos, tenant, "a_b%c").await;
        let b = seed_user(&repos, tenant, "axbyc").await;
        send(&repos, send_cmd(tenant, a, SendTarget::User(b), "discount 100% NEAR the \"store\" (today)", at(1))).await;
        for q in ["NEAR(", "\"store", "100%", "a* OR b", "(today)", "AND", "-x", ":", "'"] {
            let found = repos
                .messages
                .search(&MessageSearchQuery {
                    tenant,
                    viewer: b,
                    text: q.into(),
                    conversation: None,
                    offset: 0,
                    limit: 10,
                })
                .await
                .unwrap_or_else(|e| panic!("{name}: searching {q:?} failed: {e}"));
            assert!(found.len() <= 1, "{name}");
        }
        let found = repos
            .messages
            .search(&MessageSearchQuery {
                tenant,
                viewer: b,
                text: "store today".into(),
                conversation: None,
                offset: 0,
                limit: 10,
            })
            .await
            .expect("search");
        assert_eq!(found.len(), 1, "{name}: all words should match");
        let literal = repos
            .users
            .search(&UserSearchQuery { tenant, filter: Some("_b%".into()), after: None, limit: 10 })
            .await
            .expect("user search");
        assert_eq!(literal.iter().map(|u| u.id()).collect::<Vec<_>>(), vec![a], "{name}: wildcards must be literal");
    }
}

#[tokio::test]
async fn integrity_check_reports_a_tampered_unread_count() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let a = seed_user(&repos, tenant, "a").await;
        let b = seed_user(&repos, tenant, "b").await;
        send(&repos, send_cmd(tenant, a, SendTarget::User(b), "hi", at(1))).await;
        assert_intact(name, &store, tenant).await;
        let db = store.connection();
        db.execute_unprepared("UPDATE conversations SET unread_count = unread_count + 5").await.expect("tamper");
        let report = store.check_integrity(Some(tenant)).await.expect("check");
        assert!(
            report
                .problems
                .iter()
                .any(|p| matches!(p, IntegrityProblem::UnreadCount { user, actual: 1, stored: 6, .. } if *user == b)),
            "{name}: {:?}",
            report.problems
        );
        // The kept total followed the (tampered) sides through the triggers; tampering with it is reported.
        assert!(!report.problems.iter().any(|p| matches!(p, IntegrityProblem::UnreadTotal { .. })), "{name}");
        db.execute_unprepared("UPDATE user_unread_totals SET total = total + 3").await.expect("tamper the total");
        let report = store.check_integrity(Some(tenant)).await.expect("check");
        assert!(
            report
                .problems
                .iter()
                .any(|p| matches!(p, IntegrityProblem::UnreadTotal { user, actual: 6, stored: 9, .. } if *user == b)),
            "{name}: {:?}",
            report.problems
        );
    }
}

/// Queues a send (optionally failing after it) on the store's writer.
fn queue_send(
    repos: &Repositories,
    cmd: chat_domain::messaging::SendMessage,
    fail: bool,
) -> tokio::task::JoinHandle<Result<chat_domain::uow::Committed<chat_domain::messaging::Sent>, WorkError>> {
    let repos = repos.clone();
    tokio::spawn(async move {
        repos
            .uow
            .transact(move |tx| {
                Box::pin(async move {
                    let sent = MessagingManager::default().send(tx, cmd).await?;
                    if fail {
                        return Err(DomainError::NotFound("late failure").into());
                    }
                    Ok(sent)
                })
            })
            .await
    })
}

/// Queues any unit of work behind [`hold_writer`].
fn queue_unit<T, F>(
    repos: &Repositories,
    body: F,
) -> tokio::task::JoinHandle<Result<chat_domain::uow::Committed<T>, WorkError>>
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Transaction) -> chat_domain::uow::BoxFuture<'t, Result<T, WorkError>>
        + Send
        + 'static,
{
    let repos = repos.clone();
    tokio::spawn(async move { repos.uow.transact(body).await })
}

/// Units of one batch share the batch's in-memory counters, event rows and receipts: sends to one
/// conversation get consecutive `seq`s and stream positions, a unit that fails after taking a `seq`, a
/// position and a receipt gives all of them back, and what the batch kept in memory is in the database
/// after the commit (history, streams, receipts).
#[tokio::test]
async fn units_of_one_batch_share_counters_and_a_failed_one_gives_its_values_back() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let a = seed_user(&repos, tenant, "a").await;
        let b = seed_user(&repos, tenant, "b").await;
        let opened = send(&repos, send_cmd(tenant, a, SendTarget::User(b), "open", at(1))).await;
        let c = opened.value.message.conversation();
        let (release, blocker) = hold_writer(&repos).await;
        let to =
            |s: chat_domain::UserId, text: &str, secs| send_cmd(tenant, s, SendTarget::Conversation(c), text, at(secs));
        let units = [
            queue_send(&repos, to(a, "two", 2), false),
            queue_send(&repos, to(b, "lost", 3), true),
            queue_send(&repos, to(b, "three", 4), false),
            queue_send(&repos, to(a, "four", 5), false),
        ];
        wait_queued(name, &store, 4).await;
        let _ = release.send(());
        blocker.await.expect("join").expect("blocker commits");
        let mut outcomes = Vec::new();
        for unit in units {
            outcomes.push(unit.await.expect("join"));
        }
        assert!(outcomes[1].is_err(), "{name}: the failing unit fails");
        let committed: Vec<_> = outcomes.into_iter().filter_map(Result::ok).collect();
        let seqs: Vec<i64> = committed.iter().map(|s| s.value.message.seq().value()).collect();
        assert_eq!(seqs, vec![2, 3, 4], "{name}: gap-free seqs across the batch");
        // Every recipient's positions, from the first send on, are 1, 2, 3 … with nothing taken by the
        // failed unit, and the stored stream holds exactly the events handed out to the first send and the
        // units that committed: nothing more (an event of the failed unit) and nothing less.
        for user in [a, b] {
            let stored = repos.events.after(tenant, user, chat_domain::EventSeq::new(0), 100).await.expect("events");
            let positions: Vec<i64> = stored.iter().map(|e| e.seq.value()).collect();
            let expected: Vec<i64> = (1..=positions.len() as i64).collect();
            assert_eq!(positions, expected, "{name}: {user}'s stream");
            let window = repos.events.window(tenant, user).await.expect("window");
            assert_eq!(window.latest.value(), positions.len() as i64, "{name}: {user}'s stream position");
            let mut handed_out: Vec<i64> = opened
                .events
                .iter()
                .chain(committed.iter().flat_map(|s| s.events.iter()))
                .flat_map(|e| e.recipients.iter().filter(|(u, _)| *u == user).map(|(_, p)| p.value()))
                .collect();
            handed_out.sort_unstable();
            assert_eq!(positions, handed_out, "{name}: {user}'s stored positions are exactly those handed out");
        }
        // The failed unit's message is not in the history; the others are, in order.
        let history = fixtures::history(&repos, tenant, c, a).await;
        let texts: Vec<&str> = history.iter().filter_map(|m| m.text().map(|t| t.as_str())).collect();
        assert!(!texts.contains(&"lost"), "{name}: the failed unit's message is not stored: {texts:?}");
        assert_eq!(texts, vec!["open", "two", "three", "four"], "{name}: history");
        // b read a's "two" when sending "three" (the failed unit's receipt is gone, this one is kept).
        let receipts = repos.conversations.receipts(tenant, c, Seq::new(2)).await.expect("receipts");
        assert_eq!(receipts.iter().find(|r| r.user == b).and_then(|r| r.read_at), Some(at(4)), "{name}");
        assert_intact(name, &store, tenant).await;
    }
}

/// The batch keeps a conversation's members across its units: a unit that saves a known member's side
/// (a read) leaves them as they are, one that adds a member (a new side) adds them, so each later unit of
/// the same batch reaches exactly the members of its moment.
#[tokio::test]
async fn units_of_one_batch_reach_the_members_of_their_moment() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let (a, b, c) = (
            seed_user(&repos, tenant, "a").await,
            seed_user(&repos, tenant, "b").await,
            seed_user(&repos, tenant, "c").await,
        );
        let g = fixtures::create_group(&repos, tenant, a, &[b], at(0)).await.id();
        let (release, blocker) = hold_writer(&repos).await;
        let to = |s: UserId, text: &str, secs| send_cmd(tenant, s, SendTarget::Conversation(g), text, at(secs));
        let before = queue_send(&repos, to(a, "before", 1), false);
        wait_queued(name, &store, 1).await;
        let read = queue_unit(&repos, move |tx| {
            Box::pin(async move { MessagingManager::default().mark_read(tx, tenant, b, g, None, at(2)).await })
        });
        wait_queued(name, &store, 2).await;
        let add = queue_unit(&repos, move |tx| {
            Box::pin(async move {
                let change = chat_domain::messaging::GroupChange::AddMembers(vec![c]);
                MessagingManager::default().change_group(tx, tenant, a, g, change, at(3)).await
            })
        });
        wait_queued(name, &store, 3).await;
        let after = queue_send(&repos, to(b, "after", 4), false);
        wait_queued(name, &store, 4).await;
        let _ = release.send(());
        blocker.await.expect("join").expect("blocker commits");
        let before = before.await.expect("join").unwrap_or_else(|e| panic!("{name}: before: {e}"));
        read.await.expect("join").unwrap_or_else(|e| panic!("{name}: read: {e}"));
        add.await.expect("join").unwrap_or_else(|e| panic!("{name}: add: {e}"));
        let after = after.await.expect("join").unwrap_or_else(|e| panic!("{name}: after: {e}"));
        let reached = |sent: &chat_domain::uow::Committed<chat_domain::messaging::Sent>| {
            let created = sent.events.iter().find(|e| matches!(*e.event, DomainEvent::MessageCreated { .. }));
            fixtures::sorted(created.expect("message.created").recipients.iter().map(|(u, _)| *u).collect())
        };
        assert_eq!(reached(&before), fixtures::sorted(vec![a, b]), "{name}: before the member was added");
        assert_eq!(reached(&after), fixtures::sorted(vec![a, b, c]), "{name}: after the member was added");
        let texts: Vec<String> = fixtures::history(&repos, tenant, g, c)
            .await
            .iter()
            .filter_map(|m| m.text().map(|t| t.as_str().to_owned()))
            .collect();
        assert!(texts.contains(&"after".to_owned()), "{name}: the new member reads the later message: {texts:?}");
        assert_intact(name, &store, tenant).await;
    }
}

/// Messages without an idempotency key add nothing to `ux_messages_client_id` (migration m0004), and the
/// lookup by key still uses that index.
#[tokio::test]
async fn only_keyed_messages_enter_the_idempotency_index() {
    let store = support::sqlite_file().await;
    let db = store.connection().clone();
    let repos = Repositories::from_store(Arc::new(store));
    let tenant = fixtures::tenant();
    let (alice, bob) = (seed_user(&repos, tenant, "alice").await, seed_user(&repos, tenant, "bob").await);
    send(&repos, send_cmd(tenant, alice, SendTarget::User(bob), "no key", at(0))).await;
    let mut keyed = send_cmd(tenant, alice, SendTarget::User(bob), "with a key", at(1));
    keyed.client_message_id = Some(fixtures::key("k-1"));
    send(&repos, keyed).await;
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("query")
                .expect("a row");
            row.try_get_by_index::<i64>(0).expect("a count")
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM messages").await, 2);
    // The index is partial (a full one would hold both rows), and it holds the keyed message.
    let partial = "SELECT \"partial\" FROM pragma_index_list('messages') WHERE name = 'ux_messages_client_id'";
    assert_eq!(count(partial).await, 1, "ux_messages_client_id is a partial index");
    assert_eq!(
        count("SELECT COUNT(*) FROM messages INDEXED BY ux_messages_client_id WHERE client_message_id IS NOT NULL")
            .await,
        1
    );
    // EXPLAIN does not check the schema cookie, so a pool connection idle since the migration's DROP INDEX
    // would plan against that old schema: a statement that runs first, on the same connection (one
    // transaction), makes it read the schema again.
    let txn = db.begin().await.expect("begin");
    let backend = db.get_database_backend();
    txn.execute_raw(sea_orm::Statement::from_string(backend, "SELECT COUNT(*) FROM messages")).await.expect("read");
    let plan = txn
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE tenant_id = x'00' AND sender_id = x'00' \
             AND client_message_id = 'k-1'",
        ))
        .await
        .expect("plan");
    txn.rollback().await.expect("rollback");
    let detail: Vec<String> = plan.iter().filter_map(|r| r.try_get::<String>("", "detail").ok()).collect();
    assert!(detail.iter().any(|d| d.contains("ux_messages_client_id")), "lookup plan: {detail:?}");
}

/// The events one unit records for the same members take one `events` row and one position row per
/// member (ADR 0004): a reply's message and its sender's read receipt. Every position still reads back on
/// its own, from any position on, including one between two events of a row, and one event at a time.
#[tokio::test]
async fn events_of_one_unit_share_a_row_and_read_back_one_by_one() {
    for (name, store) in support::every_backend().await {
        let db = store.connection().clone();
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
        let backend = db.get_database_backend();
        let param = if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
        let rows = |table: &'static str| {
            let db = db.clone();
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = {param}");
            async move {
                let statement = sea_orm::Statement::from_sql_and_values(backend, sql, [tenant.as_uuid().into()]);
                let row = db.query_one_raw(statement).await.expect("count").expect("a row");
                row.try_get_by_index::<i64>(0).expect("a count")
            }
        };
        let opened = send(&repos, send_cmd(tenant, a, SendTarget::User(b), "one", at(1))).await;
        let c = opened.value.message.conversation();
        let (events_before, positions_before) = (rows("events").await, rows("user_events").await);
        let mut handed_out = opened.events.clone();
        for (sender, text, secs) in [(b, "two", 2), (a, "three", 3)] {
            let reply = send(&repos, send_cmd(tenant, sender, SendTarget::Conversation(c), text, at(secs))).await;
            assert_eq!(reply.events.len(), 2, "{name}: a reply records the message and the read receipt");
            handed_out.extend(reply.events);
        }
        assert_eq!(rows("events").await, events_before + 2, "{name}: one row per reply");
        assert_eq!(rows("user_events").await, positions_before + 4, "{name}: one position row per member and reply");

        for user in [a, b] {
            let mine: Vec<(i64, DomainEvent)> = handed_out
                .iter()
                .filter_map(|e| {
                    let (_, seq) = e.recipients.iter().find(|(u, _)| *u == user)?;
                    Some((seq.value(), (*e.event).clone()))
                })
                .collect();
            let latest = mine.last().map(|(seq, _)| *seq).expect("events");
            for after in 0..=latest {
                let stored =
                    repos.events.after(tenant, user, chat_domain::EventSeq::new(after), 100).await.expect("events");
                let read: Vec<(i64, DomainEvent)> =
                    stored.iter().map(|e| (e.seq.value(), (*e.event).clone())).collect();
                let expected: Vec<(i64, DomainEvent)> = mine.iter().filter(|(seq, _)| *seq > after).cloned().collect();
                assert_eq!(read, expected, "{name}: {user}'s events after {after}");
                let one = repos.events.after(tenant, user, chat_domain::EventSeq::new(after), 1).await.expect("events");
                let one: Vec<i64> = one.iter().map(|e| e.seq.value()).collect();
                let next: Vec<i64> = expected.iter().take(1).map(|(seq, _)| *seq).collect();
                assert_eq!(one, next, "{name}: {user}'s next event after {after}, alone");
            }
        }
        assert_intact(name, &store, tenant).await;
    }
}

/// Search follows messages that are written, edited, erased and purged in the same batch as each other
/// (SQLite indexes a batch's messages once, before it commits: migration m0005), a rolled-back unit leaves
/// nothing behind, and the index matches the texts afterwards.
#[tokio::test]
async fn search_follows_messages_written_edited_and_purged_in_one_batch() {
    for (name, store) in support::every_backend().await {
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let (a, b, d) = (
            seed_user(&repos, tenant, "a").await,
            seed_user(&repos, tenant, "b").await,
            seed_user(&repos, tenant, "d").await,
        );
        let earlier = send(&repos, send_cmd(tenant, a, SendTarget::User(b), "kilo earlier", at(1))).await.value.message;
        let untouched =
            send(&repos, send_cmd(tenant, b, SendTarget::User(a), "lima untouched", at(2))).await.value.message;
        let doomed = send(&repos, send_cmd(tenant, a, SendTarget::User(d), "echo purged", at(3))).await.value.message;
        let (ab, ad) = (earlier.conversation(), doomed.conversation());

        let (release, blocker) = hold_writer(&repos).await;
        let mut units = Vec::new();
        // Written and edited in one unit.
        units.push(queue_unit(&repos, move |tx| {
            Box::pin(async move {
                let manager = MessagingManager::default();
                let to_ab = send_cmd(tenant, a, SendTarget::Conversation(ab), "alpha first", at(4));
                let id = manager.send(tx, to_ab).await?.message.id();
                let actor = Actor { tenant, user: a, now: at(5) };
                manager.edit(tx, actor, id, fixtures::text("bravo second"), &TenantSettings::default()).await?;
                Ok(())
            })
        }));
        wait_queued(name, &store, units.len()).await;
        // Written and deleted for everyone (its text erased) in one unit.
        units.push(queue_unit(&repos, move |tx| {
            Box::pin(async move {
                let manager = MessagingManager::default();
                let to_ab = send_cmd(tenant, b, SendTarget::Conversation(ab), "golf erased", at(6));
                let id = manager.send(tx, to_ab).await?.message.id();
                let actor = Actor { tenant, user: b, now: at(7) };
                manager.delete_message(tx, actor, id, DeleteScope::Everyone, &TenantSettings::default()).await
            })
        }));
        wait_queued(name, &store, units.len()).await;
        // A message indexed earlier, edited; another written back with its text unchanged.
        units.push(queue_unit(&repos, move |tx| {
            Box::pin(async move {
                let actor = Actor { tenant, user: a, now: at(8) };
                let text = fixtures::text("charlie edited");
                MessagingManager::default().edit(tx, actor, earlier.id(), text, &TenantSettings::default()).await?;
                tx.update_message(&untouched).await?;
                Ok(())
            })
        }));
        wait_queued(name, &store, units.len()).await;
        // Written in one unit, purged with its conversation (and an indexed message) by the next.
        units.push(queue_unit(&repos, move |tx| {
            Box::pin(async move {
                MessagingManager::default()
                    .send(tx, send_cmd(tenant, d, SendTarget::Conversation(ad), "delta pending", at(9)))
                    .await?;
                Ok(())
            })
        }));
        wait_queued(name, &store, units.len()).await;
        units.push(queue_unit(&repos, move |tx| {
            Box::pin(async move {
                tx.purge_conversation(tenant, ad).await?;
                Ok(())
            })
        }));
        wait_queued(name, &store, units.len()).await;
        // Written, then the unit fails: rolled back to its savepoint.
        units.push(queue_unit(&repos, move |tx| {
            Box::pin(async move {
                MessagingManager::default()
                    .send(tx, send_cmd(tenant, a, SendTarget::Conversation(ab), "foxtrot failed", at(10)))
                    .await?;
                Err::<(), WorkError>(DomainError::NotFound("on purpose").into())
            })
        }));
        wait_queued(name, &store, units.len()).await;
        let _ = release.send(());
        blocker.await.expect("blocker task").expect("blocker commits");
        let outcomes: Vec<bool> =
            futures_util::future::join_all(units).await.into_iter().map(|r| r.expect("unit task").is_ok()).collect();
        assert_eq!(outcomes, [true, true, true, true, true, false], "{name}: only the failing unit fails");

        let search = |text: &'static str| {
            let repos = repos.clone();
            async move {
                let query = MessageSearchQuery {
                    tenant,
                    viewer: a,
                    text: text.into(),
                    conversation: None,
                    offset: 0,
                    limit: 20,
                };
                let found = repos.messages.search(&query).await.expect("search");
                found.iter().map(|m| m.text().map(|t| t.as_str().to_owned()).unwrap_or_default()).collect::<Vec<_>>()
            }
        };
        assert_eq!(search("bravo").await, ["bravo second"], "{name}: edited in the unit that wrote it");
        assert!(search("alpha").await.is_empty(), "{name}: the text before the edit is gone");
        assert_eq!(search("charlie").await, ["charlie edited"], "{name}: an indexed message edited");
        assert!(search("kilo").await.is_empty(), "{name}: its old text is gone");
        assert_eq!(search("lima").await, ["lima untouched"], "{name}: an unchanged text stays found");
        for gone in ["golf", "delta", "echo", "foxtrot"] {
            assert!(search(gone).await.is_empty(), "{name}: {gone} must not be found");
        }
        assert_intact(name, &store, tenant).await;
    }
}

/// The integrity check compares SQLite's search index with the texts: an entry without its message, and
/// a message committed without being indexed, are both reported.
#[tokio::test]
async fn integrity_check_reports_a_search_index_that_differs_from_the_texts() {
    for (name, store) in support::every_backend().await {
        if store.connection().get_database_backend() != sea_orm::DbBackend::Sqlite {
            continue;
        }
        let repos = repos(&store);
        let tenant = fixtures::tenant();
        let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
        send(&repos, send_cmd(tenant, a, SendTarget::User(b), "hotel indexed", at(1))).await;
        assert_intact(name, &store, tenant).await;
        let db = store.connection();
        let search_problems = |report: chat_infrastructure::persistence::IntegrityReport| {
            report.problems.into_iter().filter(|p| matches!(p, IntegrityProblem::SearchIndex { .. })).count()
        };

        db.execute_unprepared("INSERT INTO messages_fts_pending (rid) SELECT MAX(rid) FROM messages")
            .await
            .expect("note");
        let report = store.check_integrity(Some(tenant)).await.expect("check");
        assert_eq!(search_problems(report), 1, "{name}: a committed message left unindexed");
        db.execute_unprepared("DELETE FROM messages_fts_pending").await.expect("forget");

        db.execute_unprepared("INSERT INTO messages_fts (rowid, text) VALUES (1000000, 'ghost entry')")
            .await
            .expect("ghost");
        let report = store.check_integrity(Some(tenant)).await.expect("check");
        assert_eq!(search_problems(report), 1, "{name}: an index entry without its message");
    }
}

/// Migration m0005 goes down to m0001's search triggers and up again on a file with messages, one of them
/// deleted for everyone (no text, which m0001 left out of the index and m0005 indexes as empty): the
/// index matches the texts after it, and search finds what was written before, between and after.
#[tokio::test]
async fn the_search_index_migration_goes_down_and_up_on_a_file_with_messages() {
    let store = support::sqlite_file().await;
    let db = store.connection().clone();
    let repos = repos(&store);
    let tenant = fixtures::tenant();
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    send(&repos, send_cmd(tenant, a, SendTarget::User(b), "india one", at(1))).await;
    let erased = send(&repos, send_cmd(tenant, a, SendTarget::User(b), "juliet two", at(2))).await.value.message;
    commit_delete_for_everyone(&repos, tenant, a, erased.id(), at(3)).await;

    Migrator::down(&db, Some(1)).await.expect("m0005 down");
    // m0001's triggers index directly again.
    db.execute_unprepared("UPDATE messages SET text = 'lima four' WHERE text = 'india one'").await.expect("edit");
    Migrator::up(&db, None).await.expect("m0005 up");
    assert_intact("sqlite-file", &store, tenant).await;

    send(&repos, send_cmd(tenant, b, SendTarget::User(a), "mike five", at(4))).await;
    assert_intact("sqlite-file", &store, tenant).await;
    let found = |text: &'static str| {
        let repos = repos.clone();
        async move {
            let query =
                MessageSearchQuery { tenant, viewer: a, text: text.into(), conversation: None, offset: 0, limit: 5 };
            repos.messages.search(&query).await.expect("search").len()
        }
    };
    assert_eq!((found("india").await, found("juliet").await, found("lima").await, found("mike").await), (0, 0, 1, 1));
}

/// Deletes a message for everyone through the manager, in a unit of work that must commit.
async fn commit_delete_for_everyone(
    repos: &Repositories,
    tenant: TenantId,
    user: UserId,
    id: chat_domain::MessageId,
    now: chrono::DateTime<chrono::Utc>,
) {
    fixtures::commit(repos, move |tx| {
        Box::pin(async move {
            let actor = Actor { tenant, user, now };
            MessagingManager::default()
                .delete_message(tx, actor, id, DeleteScope::Everyone, &TenantSettings::default())
                .await
        })
    })
    .await;
}
