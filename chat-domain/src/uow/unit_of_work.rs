use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::{DeliveryTurn, Transaction};
use crate::error::{RepositoryError, WorkError};
use crate::event::CommittedEvent;

/// A boxed, sendable future (the shape of a unit of work's body).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The type-erased value a unit of work returns.
pub type WorkOutput = Box<dyn Any + Send>;

/// A type-erased unit of work: runs once, inside a transaction, against that transaction.
pub type Work = Box<dyn for<'t> FnOnce(&'t mut dyn Transaction) -> BoxFuture<'t, Result<WorkOutput, WorkError>> + Send>;

/// What a committed unit of work produced: its value and the events it recorded, in order.
#[derive(Debug)]
pub struct Committed<T> {
    /// The unit of work's result.
    pub value: T,
    /// Events to deliver now that the change is durable.
    pub events: Vec<CommittedEvent>,
    /// When they may go: after the events of every unit committed earlier (see [`DeliveryTurn`]).
    pub turn: DeliveryTurn,
}

/// Runs units of work atomically.
///
/// Contract, for every implementation:
/// - all of a unit's writes and recorded events become visible together, or none do (a unit that returns an
///   error, or whose commit fails, leaves nothing behind);
/// - a unit sees its own writes and the writes of every unit committed before it, and no concurrent unit's
///   uncommitted writes (units are serializable);
/// - `run` returns only after the unit's writes are durable;
/// - units may be committed together in one transaction (group commit), but one unit's failure never fails
///   another.
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    /// Runs one unit of work.
    async fn run(&self, work: Work) -> Result<Committed<WorkOutput>, WorkError>;
}

impl dyn UnitOfWork {
    /// Runs a typed unit of work: `uow.transact(move |tx| Box::pin(async move { ... }))`.
    pub async fn transact<T, F>(&self, body: F) -> Result<Committed<T>, WorkError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut dyn Transaction) -> BoxFuture<'t, Result<T, WorkError>> + Send + 'static,
    {
        let work: Work = Box::new(move |tx| {
            let fut = body(tx);
            Box::pin(async move { fut.await.map(|value| Box::new(value) as WorkOutput) })
        });
        let committed = self.run(work).await?;
        let value = committed
            .value
            .downcast::<T>()
            .map_err(|_| RepositoryError::storage_msg("unit of work returned a value of another type"))?;
        Ok(Committed { value: *value, events: committed.events, turn: committed.turn })
    }
}
