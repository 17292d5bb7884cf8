//! Groups: create, roles, members, ownership, leave.

use chat_tests::{TestUser, spawn_app};
use serde_json::json;

#[tokio::test]
async fn a_group_is_created_managed_and_left() {
    let app = spawn_app().await;
    let owner = TestUser::new("owner");
    let ann = TestUser::new("ann");
    let ben = TestUser::new("ben");
    let cid = TestUser::new("cid");
    for u in [&ann, &ben, &cid] {
        app.touch(u).await;
    }

    let (status, group) = app
        .post(
            &owner,
            "/api/chat/groups",
            json!({ "name": "Team", "description": "our team", "memberIds": [ann.id, ben.id] }),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["ownerId"], owner.id.to_string());
    assert_eq!(group["memberCount"], 3);
    let id = group["id"].as_str().unwrap().to_owned();

    // A group is a conversation: members send to it by id.
    let (status, message) =
        app.post(&ann, "/api/chat/messages", json!({ "conversationId": id, "text": "hi team" })).await;
    assert_eq!(status, 201, "{message}");
    let (_, conv) = app.get(&ben, &format!("/api/chat/conversations/{id}")).await;
    assert_eq!(conv["type"], "group");
    assert_eq!(conv["unreadCount"], 1);

    // A plain member may not add people; the owner may, and may promote.
    let (status, _) = app.post(&ann, &format!("/api/chat/groups/{id}/members"), json!({ "userIds": [cid.id] })).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.put(&owner, &format!("/api/chat/groups/{id}/members/{}/role", ann.id), json!({ "role": "admin" })).await;
    assert_eq!(status, 204);
    let (status, after) =
        app.post(&ann, &format!("/api/chat/groups/{id}/members"), json!({ "userIds": [cid.id] })).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["memberCount"], 4);

    // Members are listed with roles.
    let (status, members) = app.get(&cid, &format!("/api/chat/groups/{id}/members?limit=10")).await;
    assert_eq!(status, 200, "{members}");
    let items = members["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let role_of = |u: &TestUser| items.iter().find(|m| m["userId"] == u.id.to_string()).map(|m| m["role"].clone());
    assert_eq!(role_of(&owner), Some(json!("owner")));
    assert_eq!(role_of(&ann), Some(json!("admin")));

    // The admin renames the group; a member may not.
    let (status, renamed) = app.patch(&ann, &format!("/api/chat/groups/{id}"), json!({ "name": "Team A" })).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Team A");
    let (status, _) = app.patch(&ben, &format!("/api/chat/groups/{id}"), json!({ "name": "mine" })).await;
    assert_eq!(status, 403);

    // Removing: admins may remove members; anyone may remove themselves.
    let (status, _) = app.delete(&ann, &format!("/api/chat/groups/{id}/members/{}", cid.id)).await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&cid, &format!("/api/chat/conversations/{id}/messages")).await;
    assert_eq!(status, 404, "a removed member no longer sees the group");
    let (status, _) = app.delete(&ben, &format!("/api/chat/groups/{id}/members/{}", ben.id)).await;
    assert_eq!(status, 204);

    // The owner leaves: ownership passes to the longest-standing admin (Ann).
    let (status, _) = app.post(&owner, &format!("/api/chat/groups/{id}/leave"), json!(null)).await;
    assert_eq!(status, 204);
    let (status, group) = app.get(&ann, &format!("/api/chat/groups/{id}")).await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(group["ownerId"], ann.id.to_string());
}

#[tokio::test]
async fn ownership_is_transferred_and_only_the_owner_deletes() {
    let app = spawn_app().await;
    let owner = TestUser::new("owner");
    let ann = TestUser::new("ann");
    app.touch(&ann).await;
    let (_, group) = app.post(&owner, "/api/chat/groups", json!({ "name": "G", "memberIds": [ann.id] })).await;
    let id = group["id"].as_str().unwrap().to_owned();

    let (status, _) = app.delete(&ann, &format!("/api/chat/groups/{id}")).await;
    assert_eq!(status, 403);
    let (status, moved) = app.post(&owner, &format!("/api/chat/groups/{id}/owner"), json!({ "userId": ann.id })).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["ownerId"], ann.id.to_string());
    let (status, _) = app.delete(&ann, &format!("/api/chat/groups/{id}")).await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&ann, &format!("/api/chat/groups/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_non_member_gets_404_for_a_group() {
    let app = spawn_app().await;
    let owner = TestUser::new("owner");
    let stranger = TestUser::new("stranger");
    let (_, group) = app.post(&owner, "/api/chat/groups", json!({ "name": "Private", "memberIds": [] })).await;
    let id = group["id"].as_str().unwrap();
    for path in [
        format!("/api/chat/groups/{id}"),
        format!("/api/chat/groups/{id}/members"),
        format!("/api/chat/conversations/{id}"),
    ] {
        let (status, problem) = app.get(&stranger, &path).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(problem["code"], "chat.not_found");
    }
    let (status, _) =
        app.post(&stranger, "/api/chat/messages", json!({ "conversationId": id, "text": "let me in" })).await;
    assert_eq!(status, 404);
}
