//! Domain events: what clients are told about, stored per recipient for catch-up.

mod repository;
mod types;

pub use repository::{EventRepository, EventWindow};
pub use types::{CommittedEvent, DomainEvent, StoredEvent};
