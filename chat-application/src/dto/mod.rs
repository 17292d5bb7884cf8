//! Data transfer objects: what the services take (`…Input`) and return (`…Dto`), serialized as camelCase
//! JSON. Ids are plain UUIDs and times RFC 3339 strings, so the shapes are the wire contract.
//!
//! Inputs ignore unknown fields (clients may be newer than the server) but refuse wrong types: a
//! malformed UUID, a number for a string or a string for a bool fails deserialization, which hosts
//! answer with a 4xx. Everything that deserializes is then validated by the services, which report each
//! bad field in [`AppError::Validation`](crate::AppError::Validation).

mod attachment;
mod contact;
mod conversation;
mod group;
mod message;
mod page;
mod presence;
mod settings;
mod sync;
mod user;

pub use attachment::{AttachmentDownload, AttachmentKindDto, UploadAttachmentInput, UploadedAttachmentDto};
pub use contact::{ContactDto, GetContactsInput, UnreadCountDto};
pub use conversation::{
    ArchiveConversationInput, ConversationDto, ConversationTypeDto, DirectConversationDto, GetDirectConversationInput,
    ListConversationsInput, MessageSideDto, MuteConversationInput, OpenDirectConversationInput, TypingInput,
};
pub use group::{
    AddGroupMembersInput, ChangeMemberRoleInput, CreateGroupInput, GetGroupMembersInput, GroupDto, GroupMemberDto,
    GroupRoleDto, TransferOwnershipInput, UpdateGroupInput,
};
pub use message::{
    AttachmentDto, DeleteMessageInput, DeleteScopeDto, EditMessageInput, GetMessagesInput, MarkDeliveredInput,
    MarkReadInput, MemberReceiptDto, MessageDto, ReactionDto, ReceiptsDto, SearchMessagesInput, SendMessageInput,
};
pub use page::PageDto;
pub use presence::PresenceDto;
pub use settings::{
    ChatSettingsDto, ConversationDeletionDto, MessageDeletionDto, TenantSettingsDto, UpdateChatSettingsInput,
    UpdateTenantSettingsInput,
};
pub use sync::{EventEnvelopeDto, EventPositionDto, ReadyDto, SyncInput, SyncResultDto};
pub use user::{ChatUserDto, UpsertChatUserInput};
