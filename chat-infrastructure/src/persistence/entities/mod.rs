//! sea-orm entities: one module per table. They are storage rows only; `mapping` turns them into domain
//! aggregates and back, and nothing else sees them. Every table's key starts with `tenant_id`.

pub mod attachment;
pub mod chat_group;
pub mod chat_user;
pub mod conversation;
pub mod conversation_seq;
pub mod event;
pub mod group_member;
pub mod message;
pub mod message_hide;
pub mod reaction;
pub mod receipt;
pub mod tenant_setting;
pub mod user_event;
pub mod user_setting;
pub mod user_stream;
