//! The `conversations` table.

use sea_orm::entity::prelude::*;

/// One row of `conversations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
#[allow(missing_docs)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub kind: String,
    pub peer_id: Option<Uuid>,
    pub last_message_id: Option<Uuid>,
    pub last_message_seq: Option<i64>,
    pub last_message_sender: Option<Uuid>,
    pub last_message_at: Option<DateTimeUtc>,
    pub last_activity_at: DateTimeUtc,
    pub unread_count: i64,
    pub read_seq: i64,
    pub read_at: Option<DateTimeUtc>,
    pub delivered_seq: i64,
    pub delivered_at: Option<DateTimeUtc>,
    pub cleared_seq: i64,
    pub hidden: bool,
    pub muted: bool,
    pub archived: bool,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
