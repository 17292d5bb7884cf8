//! Group commit: one writer task per store takes every queued unit of work (up to a bounded batch), runs
//! each inside its own savepoint of one database transaction, commits once, and only then answers each
//! unit. A unit that fails is rolled back to its savepoint and fails alone. What the batch itself runs — a
//! savepoint statement, the write-out of the batch state, the commit — fails every unit of the batch when
//! it fails, since the rows some units deferred to it are lost with it.
//!
//! Round trips are what a batch costs (every statement is one), so the writer spends few of them: one
//! statement per unit for its savepoint (`RELEASE` of the previous unit and `SAVEPOINT` of the next are sent
//! together; `COMMIT` releases the last), and counters and append-only rows are kept in the batch's memory
//! and written with multi-row statements before the commit (see `batch`). A plain write
//! ([`JobKind::Write`]) costs a `RELEASE` and the write-out of the batch state before it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use super::conn::Conn;
use super::direct::DirectSqlite;
use super::options::Backend;
use tokio::sync::{mpsc, oneshot};

use chat_domain::event::CommittedEvent;
use chat_domain::uow::{BoxFuture, CommitOrder, Committed, WorkOutput};
use chat_domain::{RepositoryError, WorkError};

use super::admission::Admission;
use super::batch::{BatchState, UnitDelta};
use super::sql::db_err;

/// What a job produces inside the transaction: its value, the events it recorded, and its changes to the
/// batch state (merged only if it succeeded).
pub(crate) type JobOutput = Result<(WorkOutput, Vec<CommittedEvent>, UnitDelta), WorkError>;

/// A job's body: runs once, on its savepoint, seeing the batch state of the units before it.
pub(crate) type JobFn = Box<dyn for<'c> FnOnce(Conn<'c>, &'c BatchState) -> BoxFuture<'c, JobOutput> + Send>;

/// What the writer answers.
pub(crate) type JobReply = Result<Committed<WorkOutput>, WorkError>;

/// What a job writes through, which decides what the writer does before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    /// A unit of work, through a unit's [`Transaction`](chat_domain::uow::Transaction): it sees the batch
    /// state of the units before it.
    Unit,
    /// A plain write with its own statements: the batch state is written out before it runs, so that it
    /// sees every earlier unit's rows.
    Write,
}

/// One queued job and where to answer.
pub(crate) struct Job {
    pub(crate) body: JobFn,
    pub(crate) kind: JobKind,
    pub(crate) reply: oneshot::Sender<JobReply>,
    /// When the job was queued, for admission control's measure of the queue.
    pub(crate) queued_at: Instant,
}

/// What a job that writes nothing and returns nothing produces (tests build such jobs around it).
#[cfg(test)]
pub(crate) fn nothing_done() -> JobOutput {
    Ok((Box::new(()) as WorkOutput, Vec::new(), UnitDelta::default()))
}

/// The writer's connection, which decides how a batch's transaction begins and ends.
pub(crate) enum WriterDb {
    /// A pool of the async driver (PostgreSQL, an in-memory SQLite database, or SQLite when asked).
    Driver(DatabaseConnection, Backend),
    /// The writer's own SQLite connection (`direct`): transactions are plain SQL on it.
    Direct(DirectSqlite),
}

impl WriterDb {
    /// How the server's start-up log names it.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Driver(_, Backend::Sqlite) => "sqlite-driver",
            Self::Driver(_, Backend::Postgres) => "postgres-driver",
            Self::Direct(_) => "sqlite-c-api",
        }
    }
}

/// The key of the transaction-scoped advisory lock that serialises writer transactions across processes on
/// PostgreSQL (see `docs/adr/0002-seq-and-concurrency.md`).
const WRITER_LOCK_KEY: i64 = 0x0063_6861_7477_7231; // "chatwr1"

/// Runs until every sender is dropped, telling `admission` how long the freshest unit of each batch waited.
pub(crate) async fn run(db: WriterDb, mut rx: mpsc::Receiver<Job>, max_batch: usize, admission: Arc<Admission>) {
    let max_batch = max_batch.max(1);
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut order = CommitOrder::default();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        // Take what is already queued; no waiting: units that arrive while this batch commits form the next.
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Some(freshest) = batch.last() {
            admission.record(freshest.queued_at.elapsed());
        }
        run_batch(&db, std::mem::take(&mut batch), &mut order).await;
    }
}

/// A batch's open transaction.
enum Open<'a> {
    Driver(DatabaseTransaction),
    Direct(&'a DirectSqlite),
}

impl Open<'_> {
    /// `IMMEDIATE` (SQLite) takes the write lock up front, so another process writing the same file makes
    /// this one wait (busy_timeout) instead of failing on a read-to-write upgrade.
    async fn begin(db: &WriterDb) -> Result<Open<'_>, RepositoryError> {
        match db {
            WriterDb::Driver(pool, Backend::Sqlite) => pool
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
                .map(Open::Driver)
                .map_err(db_err),
            WriterDb::Driver(pool, Backend::Postgres) => {
                let txn = pool.begin().await.map_err(db_err)?;
                txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})"))
                    .await
                    .map_err(db_err)?;
                Ok(Open::Driver(txn))
            }
            WriterDb::Direct(conn) => {
                // A transaction left open by a batch that never finished would make every later one fail.
                conn.roll_back().map_err(db_err)?;
                conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
                Ok(Open::Direct(conn))
            }
        }
    }

    fn conn(&self) -> Conn<'_> {
        match self {
            Open::Driver(txn) => Conn::Driver(txn),
            Open::Direct(conn) => Conn::Direct(conn),
        }
    }

    /// Commits; on the writer's own connection a failed `COMMIT` rolls back what is left open.
    async fn commit(self) -> Result<(), RepositoryError> {
        match self {
            Open::Driver(txn) => txn.commit().await.map_err(db_err),
            Open::Direct(conn) => conn.execute_batch("COMMIT").map_err(|e| {
                if let Err(rollback) = conn.roll_back() {
                    tracing::error!(error = %rollback, "rolling back after a failed commit failed");
                }
                db_err(e)
            }),
        }
    }

    async fn rollback(self) -> Result<(), RepositoryError> {
        match self {
            Open::Driver(txn) => txn.rollback().await.map_err(db_err),
            Open::Direct(conn) => conn.roll_back().map_err(db_err),
        }
    }
}

/// A batch that could not go on (a savepoint statement or the final flush failed): every unit fails.
struct Abort(RepositoryError);

async fn run_batch(db: &WriterDb, batch: Vec<Job>, order: &mut CommitOrder) {
    let open = match Open::begin(db).await {
        Ok(open) => open,
        Err(e) => {
            let message = e.to_string();
            for job in batch {
                let _ = job.reply.send(Err(RepositoryError::storage_msg(message.clone()).into()));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    let mut waiting = batch.into_iter();
    let outcome = run_units(open.conn(), &mut waiting, &mut done).await;
    let result = match outcome {
        Ok(()) => open.commit().await.map_err(|e| format!("commit failed: {e}")),
        Err(Abort(e)) => {
            if let Err(rollback) = open.rollback().await {
                tracing::error!(error = %rollback, "rolling back an aborted batch failed");
            }
            Err(format!("the batch was rolled back: {e}"))
        }
    };
    match result {
        Ok(()) => {
            for (reply, outcome) in done {
                let _ = reply.send(outcome.map(|(value, events)| Committed { value, events, turn: order.next_turn() }));
            }
        }
        Err(message) => {
            tracing::error!(error = %message, "group commit failed; every unit of the batch is rolled back");
            for (reply, outcome) in done {
                let answer = match outcome {
                    Ok(_) => Err(RepositoryError::storage_msg(message.clone()).into()),
                    Err(own) => Err(own),
                };
                let _ = reply.send(answer);
            }
            for job in waiting {
                let _ = job.reply.send(Err(RepositoryError::storage_msg(message.clone()).into()));
            }
        }
    }
}

type Done = Vec<(oneshot::Sender<JobReply>, Result<(WorkOutput, Vec<CommittedEvent>), WorkError>)>;

/// Runs each job in its own savepoint (one statement per unit: the previous unit's `RELEASE` travels with
/// the next unit's `SAVEPOINT`), then writes the batch state out. When the batch cannot go on, the job in
/// hand is answered with the batch's failure here; `run_batch` answers the others.
async fn run_units(conn: Conn<'_>, jobs: &mut std::vec::IntoIter<Job>, done: &mut Done) -> Result<(), Abort> {
    let mut state = BatchState::default();
    let mut released = true;
    for job in jobs.by_ref() {
        match run_unit(conn, &mut state, &mut released, job.body, job.kind).await {
            Ok(outcome) => done.push((job.reply, outcome)),
            Err(Abort(e)) => {
                let failure = RepositoryError::storage_msg(format!("the batch was rolled back: {e}"));
                done.push((job.reply, Err(failure.into())));
                return Err(Abort(e));
            }
        }
    }
    // `COMMIT` releases the last savepoint.
    state.flush(&conn).await.map_err(Abort)
}

/// One job on its savepoint. `Err` only when the batch itself cannot go on.
async fn run_unit(
    conn: Conn<'_>,
    state: &mut BatchState,
    released: &mut bool,
    body: JobFn,
    kind: JobKind,
) -> Result<Result<(WorkOutput, Vec<CommittedEvent>), WorkError>, Abort> {
    if kind == JobKind::Write {
        if !*released {
            exec(conn, "RELEASE SAVEPOINT chat_unit").await?;
            *released = true;
        }
        state.flush(&conn).await.map_err(Abort)?;
    }
    exec(conn, if *released { "SAVEPOINT chat_unit" } else { "RELEASE SAVEPOINT chat_unit; SAVEPOINT chat_unit" })
        .await?;
    *released = false;
    let result = AssertUnwindSafe(body(conn, state)).catch_unwind().await;
    let outcome = match result {
        Ok(Ok((value, events, delta))) => {
            state.merge(delta);
            return Ok(Ok((value, events)));
        }
        Ok(Err(e)) => e,
        Err(_) => {
            tracing::error!("a unit of work panicked; it was rolled back");
            RepositoryError::storage_msg("the unit of work panicked").into()
        }
    };
    exec(conn, "ROLLBACK TO SAVEPOINT chat_unit; RELEASE SAVEPOINT chat_unit").await?;
    *released = true;
    Ok(Err(outcome))
}

async fn exec(conn: Conn<'_>, sql: &str) -> Result<(), Abort> {
    conn.execute_unprepared(sql).await.map_err(Abort)
}

#[cfg(test)]
mod tests {
    use sea_orm::Database;

    use super::*;

    fn job(body: JobFn, kind: JobKind) -> (Job, oneshot::Receiver<JobReply>) {
        let (reply, answer) = oneshot::channel();
        (Job { body, kind, reply, queued_at: Instant::now() }, answer)
    }

    fn ok_job(kind: JobKind) -> (Job, oneshot::Receiver<JobReply>) {
        let body: JobFn = Box::new(|_, _| Box::pin(async { nothing_done() }));
        job(body, kind)
    }

    /// A batch that cannot go on (here: a job ended the transaction, so the next savepoint statement
    /// fails) answers every job with an error, the one in hand included, and none is left unanswered.
    #[tokio::test]
    async fn an_aborted_batch_answers_every_job() {
        let driver = Database::connect("sqlite::memory:").await.expect("database");
        answers_every_job_of_an_aborted_batch(&WriterDb::Driver(driver, Backend::Sqlite)).await;
        let (direct, path) = super::super::direct::tests::scratch(super::super::options::Durability::Fast);
        let direct = WriterDb::Direct(direct);
        answers_every_job_of_an_aborted_batch(&direct).await;
        // The next batch begins and commits.
        let (job, answer) = ok_job(JobKind::Unit);
        run_batch(&direct, vec![job], &mut CommitOrder::default()).await;
        assert!(answer.await.expect("answered").is_ok(), "the batch after an aborted one commits");
        let _ = std::fs::remove_file(path);
    }

    async fn answers_every_job_of_an_aborted_batch(db: &WriterDb) {
        let breaks: JobFn = Box::new(|conn, _| {
            Box::pin(async move {
                conn.execute_unprepared("ROLLBACK").await?;
                nothing_done()
            })
        });
        let (first, first_answer) = job(breaks, JobKind::Unit);
        let (second, second_answer) = ok_job(JobKind::Unit);
        let (third, third_answer) = ok_job(JobKind::Write);
        let mut order = CommitOrder::default();
        run_batch(db, vec![first, second, third], &mut order).await;
        for (name, answer) in [("first", first_answer), ("second", second_answer), ("third", third_answer)] {
            let reply = answer.await.unwrap_or_else(|_| panic!("the {name} job was never answered"));
            assert!(reply.is_err(), "the {name} job must fail with the batch");
        }
    }
}
