//! The one mapping from the application's DTOs to the contract's messages.

use chat_application::dto::{
    ConversationDto, ConversationTypeDto, GroupDto, GroupMemberDto, GroupRoleDto, MessageDto, PageDto,
};
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::proto;

/// A date as the REST API writes it (RFC 3339, UTC, `Z`).
pub(crate) fn date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A message.
pub(crate) fn message_data(m: MessageDto) -> proto::MessageData {
    proto::MessageData {
        conversation_id: m.conversation_id.to_string(),
        sender_id: m.sender_id.to_string(),
        reply_id: m.reply_to_id.map(|id| id.to_string()),
        text: m.text.unwrap_or_default(),
        id: m.id.to_string(),
        seq: m.seq,
        created_at: date(m.created_at),
        edited_at: m.edited_at.map(date),
        deleted: m.deleted,
        client_message_id: m.client_message_id,
    }
}

/// A page of messages.
pub(crate) fn message_list(page: PageDto<MessageDto>) -> proto::MessageList {
    proto::MessageList {
        messages: page.items.into_iter().map(message_data).collect(),
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }
}

/// A conversation as its member sees it.
pub(crate) fn conversation_data(c: ConversationDto) -> proto::ConversationData {
    proto::ConversationData {
        id: c.id.to_string(),
        name: c.name,
        group: Some(c.kind == ConversationTypeDto::Group),
        creator_id: None,
        created_at: date(c.created_at),
        updated_at: Some(date(c.last_activity_at)),
        target_user_id: c.target_user_id.map(|id| id.to_string()),
        unread_count: c.unread_count,
        member_count: c.member_count,
    }
}

/// A page of conversations.
pub(crate) fn conversation_list(page: PageDto<ConversationDto>) -> proto::ConversationList {
    proto::ConversationList {
        conversations: page.items.into_iter().map(conversation_data).collect(),
        next_cursor: page.next_cursor,
    }
}

/// A group as a conversation (the original contract answers `Create` with a `ConversationData`); its
/// `creator_id` is the current owner.
pub(crate) fn group_data(g: GroupDto) -> proto::ConversationData {
    proto::ConversationData {
        id: g.id.to_string(),
        name: Some(g.name),
        group: Some(true),
        creator_id: g.owner_id.map(|id| id.to_string()),
        created_at: date(g.created_at),
        updated_at: None,
        target_user_id: None,
        unread_count: 0,
        member_count: g.member_count,
    }
}

/// The role's name, as in REST and events.
pub(crate) fn role_name(role: GroupRoleDto) -> &'static str {
    match role {
        GroupRoleDto::Owner => "owner",
        GroupRoleDto::Admin => "admin",
        GroupRoleDto::Member => "member",
    }
}

/// A member of `group`. Memberships have no id of their own, so `id` is the member's user id; roles
/// changes are not dated, so `updated_at` is the joining date.
pub(crate) fn participant_data(group: Uuid, m: GroupMemberDto) -> proto::ParticipantData {
    let joined = date(m.joined_at);
    proto::ParticipantData {
        id: m.user_id.to_string(),
        user_id: m.user_id.to_string(),
        is_admin: matches!(m.role, GroupRoleDto::Owner | GroupRoleDto::Admin),
        conversation_id: group.to_string(),
        created_at: joined.clone(),
        updated_at: joined,
        role: role_name(m.role).to_owned(),
        username: m.user_name,
        name: m.name,
    }
}

/// A page of members of `group`.
pub(crate) fn participant_list(group: Uuid, page: PageDto<GroupMemberDto>) -> proto::ParticipantList {
    proto::ParticipantList {
        participants: page.items.into_iter().map(|m| participant_data(group, m)).collect(),
        next_cursor: page.next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_rest_writes_them() {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(1500);
        assert_eq!(date(at), serde_json::to_value(at).unwrap_or_default().as_str().unwrap_or_default());
    }

    #[test]
    fn owners_and_admins_are_admins() {
        let member = |role| GroupMemberDto {
            user_id: Uuid::new_v4(),
            user_name: None,
            name: None,
            role,
            joined_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let group = Uuid::new_v4();
        assert!(participant_data(group, member(GroupRoleDto::Owner)).is_admin);
        assert!(participant_data(group, member(GroupRoleDto::Admin)).is_admin);
        let plain = participant_data(group, member(GroupRoleDto::Member));
        assert!(!plain.is_admin);
        assert_eq!(plain.role, "member");
        assert_eq!(plain.id, plain.user_id);
    }
}
