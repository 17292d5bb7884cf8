//! The contract cases. Each expects a fresh, empty store and panics with a message on the first broken
//! expectation.

mod conversations;
mod directory;
mod events;
mod messages;
mod scenarios;
mod tenancy;
mod write_path;

pub use conversations::*;
pub use directory::*;
pub use events::*;
pub use messages::*;
pub use scenarios::*;
pub use tenancy::*;
pub use write_path::*;
