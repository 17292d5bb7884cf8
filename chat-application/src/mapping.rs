//! Domain → DTO mapping, in one place, so every service and every event shows the same shapes.

use chat_domain::conversation::{Conversation, ConversationKind};
use chat_domain::group::{ChatGroup, GroupMember, GroupRole};
use chat_domain::message::{Message, Reaction};
use chat_domain::settings::{ConversationDeletion, MessageDeletion, TenantSettings};
use chat_domain::user::ChatUser;
use chat_domain::{MessageId, UserId};

use crate::dto::{
    AttachmentDto, ChatUserDto, ConversationDeletionDto, ConversationDto, ConversationTypeDto, GroupDto,
    GroupMemberDto, GroupRoleDto, MessageDeletionDto, MessageDto, MessageSideDto, ReactionDto, TenantSettingsDto,
};

/// A message with its reactions as `viewer` sees them (`me` is false for everyone when `viewer` is
/// `None`, as in events). `reactions` may hold other messages' reactions too; they are skipped.
pub(crate) fn message_dto(message: &Message, reactions: &[Reaction], viewer: Option<UserId>) -> MessageDto {
    MessageDto {
        id: message.id().as_uuid(),
        conversation_id: message.conversation().as_uuid(),
        seq: message.seq().value(),
        sender_id: message.sender().as_uuid(),
        text: message.text().map(|t| t.as_str().to_owned()),
        reply_to_id: message.reply_to().map(|id| id.as_uuid()),
        attachments: message
            .attachments()
            .iter()
            .map(|a| AttachmentDto {
                id: a.id.as_uuid(),
                file_name: a.file_name.clone(),
                mime_type: a.mime_type.clone(),
                size: a.size,
            })
            .collect(),
        reactions: reaction_summary(message.id(), reactions, viewer),
        client_message_id: message.client_message_id().map(|c| c.as_str().to_owned()),
        created_at: message.created_at(),
        edited_at: message.edited_at(),
        deleted: message.is_deleted(),
    }
}

/// Reactions to one message grouped by emoji, in the order each emoji was first used.
fn reaction_summary(message: MessageId, reactions: &[Reaction], viewer: Option<UserId>) -> Vec<ReactionDto> {
    let mut mine: Vec<&Reaction> = reactions.iter().filter(|r| r.message == message).collect();
    mine.sort_by_key(|r| r.at);
    let mut summary: Vec<ReactionDto> = Vec::new();
    for r in mine {
        let me = viewer == Some(r.user);
        match summary.iter_mut().find(|s| s.emoji == r.emoji.as_str()) {
            Some(s) => {
                s.count += 1;
                s.me |= me;
            }
            None => summary.push(ReactionDto { emoji: r.emoji.as_str().to_owned(), count: 1, me }),
        }
    }
    summary
}

/// Everything a conversation DTO needs beyond the caller's side.
pub(crate) struct ConversationExtras {
    pub name: Option<String>,
    pub member_count: u64,
    pub last_message: Option<MessageDto>,
}

/// The caller's side of a conversation as a DTO.
pub(crate) fn conversation_dto(side: &Conversation, extras: ConversationExtras) -> ConversationDto {
    let (kind, target) = match side.kind() {
        ConversationKind::Direct { peer } => (ConversationTypeDto::Direct, Some(peer.as_uuid())),
        ConversationKind::Group => (ConversationTypeDto::Group, None),
    };
    let last = side.last_message();
    ConversationDto {
        id: side.id().as_uuid(),
        kind,
        name: extras.name,
        target_user_id: target,
        last_message: extras.last_message,
        last_message_side: last.map(|m| side_of(m.sender, side.user())),
        last_message_date: last.map(|m| m.at),
        unread_count: side.unread_count(),
        muted: side.is_muted(),
        archived: side.is_archived(),
        member_count: extras.member_count,
        created_at: side.created_at(),
        last_activity_at: side.last_activity_at(),
        read_seq: side.read_seq().value(),
        delivered_seq: side.delivered_seq().value(),
    }
}

/// `send` when `viewer` sent it, else `receive`.
pub(crate) fn side_of(sender: UserId, viewer: UserId) -> MessageSideDto {
    if sender == viewer { MessageSideDto::Send } else { MessageSideDto::Receive }
}

/// A user as a DTO.
pub(crate) fn user_dto(user: &ChatUser) -> ChatUserDto {
    ChatUserDto {
        id: user.id().as_uuid(),
        user_name: user.name().user_name().to_owned(),
        name: user.name().name().map(str::to_owned),
        surname: user.name().surname().map(str::to_owned),
        active: user.is_active(),
    }
}

/// A group as a DTO.
pub(crate) fn group_dto(group: &ChatGroup) -> GroupDto {
    GroupDto {
        id: group.id().as_uuid(),
        name: group.details().name().to_owned(),
        description: group.details().description().map(str::to_owned),
        avatar_url: group.details().avatar_url().map(str::to_owned),
        owner_id: group.owner().map(|o| o.as_uuid()),
        member_count: group.members().len() as u64,
        created_at: group.created_at(),
    }
}

/// A member as a DTO, with their names when the chat knows the user.
pub(crate) fn member_dto(member: &GroupMember, user: Option<&ChatUser>) -> GroupMemberDto {
    GroupMemberDto {
        user_id: member.user.as_uuid(),
        user_name: user.map(|u| u.name().user_name().to_owned()),
        name: user.map(|u| u.name().display()),
        role: role_dto(member.role),
        joined_at: member.joined_at,
    }
}

/// A role as a DTO.
pub(crate) fn role_dto(role: GroupRole) -> GroupRoleDto {
    match role {
        GroupRole::Owner => GroupRoleDto::Owner,
        GroupRole::Admin => GroupRoleDto::Admin,
        GroupRole::Member => GroupRoleDto::Member,
    }
}

/// A role from a DTO.
pub(crate) fn role_from_dto(role: GroupRoleDto) -> GroupRole {
    match role {
        GroupRoleDto::Owner => GroupRole::Owner,
        GroupRoleDto::Admin => GroupRole::Admin,
        GroupRoleDto::Member => GroupRole::Member,
    }
}

/// Tenant settings as a DTO.
pub(crate) fn tenant_settings_dto(s: &TenantSettings) -> TenantSettingsDto {
    TenantSettingsDto {
        chat_enabled: s.chat_enabled,
        deleting_messages: match s.deleting_messages {
            MessageDeletion::Enabled => MessageDeletionDto::Enabled,
            MessageDeletion::Disabled => MessageDeletionDto::Disabled,
            MessageDeletion::EnabledWithDeletionPeriod => MessageDeletionDto::EnabledWithDeletionPeriod,
        },
        message_deletion_period: s.message_deletion_period,
        deleting_conversations: match s.deleting_conversations {
            ConversationDeletion::Enabled => ConversationDeletionDto::Enabled,
            ConversationDeletion::Disabled => ConversationDeletionDto::Disabled,
        },
        search_other_contacts: s.search_other_contacts,
        edit_window: s.edit_window,
    }
}

/// A message deletion policy from a DTO.
pub(crate) fn message_deletion_from_dto(d: MessageDeletionDto) -> MessageDeletion {
    match d {
        MessageDeletionDto::Enabled => MessageDeletion::Enabled,
        MessageDeletionDto::Disabled => MessageDeletion::Disabled,
        MessageDeletionDto::EnabledWithDeletionPeriod => MessageDeletion::EnabledWithDeletionPeriod,
    }
}

/// A conversation deletion policy from a DTO.
pub(crate) fn conversation_deletion_from_dto(d: ConversationDeletionDto) -> ConversationDeletion {
    match d {
        ConversationDeletionDto::Enabled => ConversationDeletion::Enabled,
        ConversationDeletionDto::Disabled => ConversationDeletion::Disabled,
    }
}
