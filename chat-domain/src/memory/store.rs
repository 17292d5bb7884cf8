//! The in-memory store and its unit of work.

use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;

use crate::error::{RepositoryError, WorkError};
use crate::uow::{CommitOrder, Committed, UnitOfWork, Work, WorkOutput};

use super::state::State;
use super::transaction::MemoryTransaction;

/// A chat store held in memory: every repository port and the unit of work, with the same semantics as
/// the database stores (the repository contract suite runs against it), and no I/O.
///
/// Units of work run one at a time (a writer lock), each against its own O(1) snapshot of the state; a
/// unit that succeeds publishes its snapshot, one that fails is dropped, so nothing of it is ever seen.
/// Reads outside units take a snapshot and never wait for a unit in progress.
#[derive(Default)]
pub struct InMemoryChatStore {
    /// The committed state. Held only to clone or replace it, never across an `await`.
    current: RwLock<State>,
    /// Serializes writers: units of work and single-row writes.
    writer: async_lock::Mutex<()>,
    /// Commit order, for delivering events in it (taken while the writer lock is held).
    order: std::sync::Mutex<CommitOrder>,
}

impl InMemoryChatStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A consistent copy of the committed state (O(1)).
    pub(super) fn snapshot(&self) -> State {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn publish(&self, state: State) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// A single-row write outside a unit of work, serialized with the units so neither loses the other's
    /// change.
    pub(super) async fn write<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, RepositoryError>,
    ) -> Result<T, RepositoryError> {
        let _writer = self.writer.lock().await;
        let mut next = self.snapshot();
        let value = change(&mut next)?;
        self.publish(next);
        Ok(value)
    }
}

impl std::fmt::Debug for InMemoryChatStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryChatStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl UnitOfWork for InMemoryChatStore {
    async fn run(&self, work: Work) -> Result<Committed<WorkOutput>, WorkError> {
        let _writer = self.writer.lock().await;
        let mut tx = MemoryTransaction::new(self.snapshot());
        let value = work(&mut tx).await?;
        let (state, events) = tx.finish();
        self.publish(state);
        let turn = self.order.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next_turn();
        Ok(Committed { value, events, turn })
    }
}
