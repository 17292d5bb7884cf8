//! Ports through which the chat learns about the embedding application's users.

mod directory;

pub use directory::{DirectoryError, DirectoryUser, NoUserDirectory, UserDirectory};

pub(crate) use directory::{external_name, import_unknown_users, retry_with_directory};
