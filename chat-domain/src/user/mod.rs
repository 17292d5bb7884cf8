//! The chat's copy of a host user.

mod chat_user;
mod repository;

pub use chat_user::{ChatUser, ChatUserParts};
pub use repository::{ChatUserRepository, UserSearchQuery};
