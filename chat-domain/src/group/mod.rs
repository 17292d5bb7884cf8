//! Group chats: the `ChatGroup` aggregate, its members and their roles.

mod aggregate;
mod repository;

pub use aggregate::{ChatGroup, ChatGroupParts, GroupDetails, GroupMember, GroupRole, LeaveOutcome};
pub use repository::{ChatGroupRepository, GroupMemberPageQuery};
