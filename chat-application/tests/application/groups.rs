use chat_application::dto::{
    AddGroupMembersInput, ChangeMemberRoleInput, CreateGroupInput, GetGroupMembersInput, GroupRoleDto,
    ListConversationsInput, TransferOwnershipInput, UpdateGroupInput,
};
use chat_application::{ChatOptions, UnlimitedRateLimiter};
use chat_domain::ConversationId;
use std::sync::Arc;

use crate::support::{app, app_with, code, field};

#[tokio::test]
async fn creating_a_group_makes_the_creator_owner_and_tells_members() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let input = CreateGroupInput {
        name: " Team ".into(),
        description: Some("the team".into()),
        avatar_url: Some("https://cdn.example/a.png".into()),
        member_ids: vec![bob.user.as_uuid(), carol.user.as_uuid(), bob.user.as_uuid()],
    };
    let group = app.chat.groups().create_group(&alice, input).await.unwrap();
    assert_eq!(group.name, "Team");
    assert_eq!((group.owner_id, group.member_count), (Some(alice.user.as_uuid()), 3));
    let added = app.sender.named("group.member_added");
    assert_eq!(added.len(), 3);
    assert_eq!(added[0].data["groupId"], group.id.to_string());
    let json = serde_json::to_value(&group).unwrap();
    for key in ["id", "name", "description", "avatarUrl", "ownerId", "memberCount", "createdAt"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    let conversation =
        app.chat.conversations().get_conversation(&bob, ConversationId::from_uuid(group.id)).await.unwrap();
    assert_eq!((conversation.name.as_deref(), conversation.member_count), (Some("Team"), 3));
    assert_eq!(serde_json::to_value(&conversation).unwrap()["type"], "group");
    let list = app.chat.conversations().get_conversations(&carol, ListConversationsInput::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(app.chat.groups().get_group(&carol, ConversationId::from_uuid(group.id)).await.unwrap(), group);
}

#[tokio::test]
async fn group_input_is_validated_and_members_must_exist_in_the_tenant() {
    let app = app();
    let alice = app.user("alice").await;
    let groups = app.chat.groups();
    let blank = CreateGroupInput { name: "  ".into(), ..Default::default() };
    assert_eq!(field(groups.create_group(&alice, blank).await), "name");
    let avatar =
        CreateGroupInput { name: "x".into(), avatar_url: Some("javascript:alert(1)".into()), ..Default::default() };
    assert_eq!(field(groups.create_group(&alice, avatar).await), "avatarUrl");
    let ghost = CreateGroupInput { name: "x".into(), member_ids: vec![uuid::Uuid::new_v4()], ..Default::default() };
    assert_eq!(code(groups.create_group(&alice, ghost).await), "chat.not_found");
    let stranger = app.user_in(crate::support::tenant(), "stranger").await;
    let foreign =
        CreateGroupInput { name: "x".into(), member_ids: vec![stranger.user.as_uuid()], ..Default::default() };
    assert_eq!(code(groups.create_group(&alice, foreign).await), "chat.not_found");
    assert!(app.sender.events().is_empty());
}

#[tokio::test]
async fn group_size_is_limited() {
    let app = app_with(|b| {
        b.rate_limiter(Arc::new(UnlimitedRateLimiter))
            .options(ChatOptions { max_group_members: 3, ..Default::default() })
    });
    let owner = app.user("owner").await;
    let mut others = Vec::new();
    for i in 0..4 {
        others.push(app.user(&format!("u{i}")).await);
    }
    let too_big = CreateGroupInput {
        name: "big".into(),
        member_ids: others.iter().map(|u| u.user.as_uuid()).collect(),
        ..Default::default()
    };
    assert_eq!(field(app.chat.groups().create_group(&owner, too_big).await), "memberIds");
    let group = app.group(&owner, &[&others[0], &others[1]]).await;
    let add = AddGroupMembersInput { user_ids: vec![others[2].user.as_uuid()] };
    assert_eq!(field(app.chat.groups().add_members(&owner, ConversationId::from_uuid(group.id), add).await), "userIds");
}

#[tokio::test]
async fn members_are_listed_by_page_with_roles_and_names() {
    let app = app();
    let owner = app.user("owner").await;
    let mut members = Vec::new();
    for i in 0..5 {
        members.push(app.user(&format!("m{i}")).await);
    }
    let refs: Vec<_> = members.iter().collect();
    let group = app.group(&owner, &refs).await;
    let id = ConversationId::from_uuid(group.id);
    let change = ChangeMemberRoleInput { role: GroupRoleDto::Admin };
    app.chat.groups().change_member_role(&owner, id, members[0].user, change).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .chat
            .groups()
            .get_members(&members[3], id, GetGroupMembersInput { cursor, limit: Some(2) })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        if !page.has_more {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(seen.len(), 6);
    let ids: Vec<_> = seen.iter().map(|m| m.user_id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by user id");
    let of = |u: &chat_application::CallerContext| seen.iter().find(|m| m.user_id == u.user.as_uuid()).unwrap();
    assert_eq!(of(&owner).role, GroupRoleDto::Owner);
    assert_eq!(of(&members[0]).role, GroupRoleDto::Admin);
    assert_eq!((of(&members[1]).role, of(&members[1]).user_name.as_deref()), (GroupRoleDto::Member, Some("m1")));
    let json = serde_json::to_value(of(&owner)).unwrap();
    for key in ["userId", "userName", "name", "role", "joinedAt"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    let bad = GetGroupMembersInput { cursor: Some("x".into()), limit: None };
    assert_eq!(field(app.chat.groups().get_members(&owner, id, bad).await), "cursor");
}

#[tokio::test]
async fn an_owner_who_leaves_hands_over_and_the_last_one_out_deletes_the_group() {
    let app = app();
    let (owner, admin, member) = (app.user("o").await, app.user("a").await, app.user("m").await);
    let group = app.group(&owner, &[&member, &admin]).await;
    let id = ConversationId::from_uuid(group.id);
    let groups = app.chat.groups();
    groups
        .change_member_role(&owner, id, admin.user, ChangeMemberRoleInput { role: GroupRoleDto::Admin })
        .await
        .unwrap();
    app.sender.clear();
    groups.leave_group(&owner, id).await.unwrap();
    let removed = app.sender.named("group.member_removed");
    assert_eq!(removed[0].data["userId"], owner.user.to_string());
    assert!(removed[0].users().any(|u| u == owner.user), "the one who left is told too");
    assert_eq!(groups.get_group(&admin, id).await.unwrap().owner_id, Some(admin.user.as_uuid()));
    assert_eq!(code(groups.get_group(&owner, id).await), "chat.not_found");
    assert_eq!(code(app.try_post(&owner, group.id, "still here?").await), "chat.not_found");
    groups.leave_group(&admin, id).await.unwrap();
    groups.leave_group(&member, id).await.unwrap();
    assert!(app.sender.named("conversation.deleted").iter().any(|e| e.users().any(|u| u == member.user)));
    assert_eq!(code(groups.get_group(&member, id).await), "chat.not_found");
}

#[tokio::test]
async fn transfer_update_and_delete() {
    let app = app();
    let (owner, member) = (app.user("o").await, app.user("m").await);
    let group = app.group(&owner, &[&member]).await;
    let id = ConversationId::from_uuid(group.id);
    let groups = app.chat.groups();
    let updated = groups
        .update_group(
            &owner,
            id,
            UpdateGroupInput { name: "Renamed".into(), description: Some("d".into()), avatar_url: None },
        )
        .await
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.description.as_deref()), ("Renamed", Some("d")));
    let event = app.sender.named("group.updated").pop().unwrap();
    assert_eq!(event.data["name"], "Renamed");
    let moved =
        groups.transfer_ownership(&owner, id, TransferOwnershipInput { user_id: member.user.as_uuid() }).await.unwrap();
    assert_eq!(moved.owner_id, Some(member.user.as_uuid()));
    assert_eq!(code(groups.delete_group(&owner, id).await), "chat.forbidden");
    let owner_role = ChangeMemberRoleInput { role: GroupRoleDto::Owner };
    assert_eq!(field(groups.change_member_role(&member, id, owner.user, owner_role).await), "role");
    app.post(&owner, group.id, "bye").await;
    groups.delete_group(&member, id).await.unwrap();
    let deleted = app.sender.named("conversation.deleted").pop().unwrap();
    assert_eq!(deleted.users().count(), 2);
    assert_eq!(code(groups.get_group(&member, id).await), "chat.not_found");
    assert_eq!(code(app.chat.conversations().get_conversation(&owner, id).await), "chat.not_found");
}
