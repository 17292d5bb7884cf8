//! Group commit: one writer task per store takes every queued unit of work (up to a bounded batch), runs
//! each inside its own savepoint of one database transaction, commits once, and only then answers each
//! unit. A unit that fails is rolled back to its savepoint and fails alone; a failed commit fails the batch.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use chat_domain::event::CommittedEvent;
use chat_domain::uow::{BoxFuture, CommitOrder, Committed, WorkOutput};
use chat_domain::{RepositoryError, WorkError};

use super::options::Backend;
use super::sql::db_err;

/// What a job produces inside the transaction: its value and the events it recorded.
pub(crate) type JobOutput = Result<(WorkOutput, Vec<CommittedEvent>), WorkError>;

/// A job's body: runs once, on its savepoint.
pub(crate) type JobFn = Box<dyn for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, JobOutput> + Send>;

/// What the writer answers.
pub(crate) type JobReply = Result<Committed<WorkOutput>, WorkError>;

/// One queued job and where to answer.
pub(crate) struct Job {
    pub(crate) body: JobFn,
    pub(crate) reply: oneshot::Sender<JobReply>,
}

/// The key of the transaction-scoped advisory lock that serialises writer transactions across processes on
/// PostgreSQL (see `docs/adr/0002-seq-and-concurrency.md`).
const WRITER_LOCK_KEY: i64 = 0x0063_6861_7477_7231; // "chatwr1"

/// Runs until every sender is dropped.
pub(crate) async fn run(db: DatabaseConnection, backend: Backend, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
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
        run_batch(&db, backend, std::mem::take(&mut batch), &mut order).await;
    }
}

async fn begin(db: &DatabaseConnection, backend: Backend) -> Result<DatabaseTransaction, RepositoryError> {
    match backend {
        // IMMEDIATE takes the write lock up front, so another process writing the same file makes this
        // one wait (busy_timeout) instead of failing on a read-to-write upgrade.
        Backend::Sqlite => db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
            .map_err(db_err),
        Backend::Postgres => {
            let txn = db.begin().await.map_err(db_err)?;
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})"))
                .await
                .map_err(db_err)?;
            Ok(txn)
        }
    }
}

async fn run_batch(db: &DatabaseConnection, backend: Backend, batch: Vec<Job>, order: &mut CommitOrder) {
    let txn = match begin(db, backend).await {
        Ok(txn) => txn,
        Err(e) => {
            let message = e.to_string();
            for job in batch {
                let _ = job.reply.send(Err(RepositoryError::storage_msg(message.clone()).into()));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = run_unit(&txn, job.body).await;
        done.push((job.reply, outcome));
    }
    match txn.commit().await {
        Ok(()) => {
            for (reply, outcome) in done {
                let _ = reply.send(outcome.map(|(value, events)| Committed { value, events, turn: order.next_turn() }));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed; every unit of the batch is rolled back");
            let message = format!("commit failed: {e}");
            for (reply, outcome) in done {
                let answer = match outcome {
                    Ok(_) => Err(RepositoryError::storage_msg(message.clone()).into()),
                    Err(own) => Err(own),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

async fn run_unit(txn: &DatabaseTransaction, body: JobFn) -> JobOutput {
    let savepoint = txn.begin().await.map_err(db_err)?;
    let result = AssertUnwindSafe(body(&savepoint)).catch_unwind().await;
    match result {
        Ok(Ok(output)) => {
            savepoint.commit().await.map_err(db_err)?;
            Ok(output)
        }
        Ok(Err(e)) => {
            if let Err(rollback) = savepoint.rollback().await {
                tracing::error!(error = %rollback, "rolling back a unit of work failed");
            }
            Err(e)
        }
        Err(_) => {
            if let Err(rollback) = savepoint.rollback().await {
                tracing::error!(error = %rollback, "rolling back a panicked unit of work failed");
            }
            tracing::error!("a unit of work panicked; it was rolled back");
            Err(RepositoryError::storage_msg("the unit of work panicked").into())
        }
    }
}
