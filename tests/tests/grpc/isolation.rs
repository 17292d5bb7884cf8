//! Tenant isolation over gRPC: another tenant's resources answer exactly like missing ones.

use chat_host::grpc::proto;
use chat_tests::TestUser;
use tonic::Code;
use uuid::Uuid;

use crate::support::{as_user, assert_code, spawn_grpc};

#[tokio::test]
async fn a_user_of_another_tenant_finds_nothing_and_changes_nothing() {
    let grpc = spawn_grpc().await;
    let (tenant_a, tenant_b) = (Uuid::new_v4(), Uuid::new_v4());
    let alice = TestUser::in_tenant("alice", tenant_a);
    let bob = TestUser::in_tenant("bob", tenant_a);
    let mallory = TestUser::in_tenant("mallory", tenant_b);
    grpc.app.touch(&bob).await;
    grpc.app.touch(&mallory).await;

    let conversation = grpc.direct(&alice, &bob).await;
    let message = grpc.send(&alice, &conversation, "tenant A only").await;
    let group_input = proto::CreateGroupInput {
        data: Some(proto::GroupInput { name: "A team".into(), description: None }),
        member_ids: vec![bob.id.to_string()],
        ..Default::default()
    };
    let group = grpc.groups().create(as_user(&alice, group_input)).await.unwrap().into_inner().id;

    let get = |id: &str| proto::GetConversation { id: id.to_owned(), ..Default::default() };
    for id in [&conversation, &group] {
        assert_code(grpc.conversations().get(as_user(&mallory, get(id))).await, Code::NotFound, "get");
        assert_code(grpc.conversations().messages(as_user(&mallory, get(id))).await, Code::NotFound, "messages");
    }
    let send = proto::CreateMessageInput {
        conversation_id: conversation.clone(),
        data: Some(proto::MessageInput { text: "x".into() }),
        ..Default::default()
    };
    assert_code(grpc.messages().send(as_user(&mallory, send)).await, Code::NotFound, "send");
    let edit = proto::UpdateMessageInput {
        id: message.id.clone(),
        data: Some(proto::MessageInput { text: "x".into() }),
        ..Default::default()
    };
    assert_code(grpc.messages().update(as_user(&mallory, edit.clone())).await, Code::NotFound, "edit");
    assert_code(grpc.messages().reply(as_user(&mallory, edit)).await, Code::NotFound, "reply");
    let delete = proto::DeleteMessageInput { id: message.id.clone(), ..Default::default() };
    assert_code(grpc.messages().delete(as_user(&mallory, delete)).await, Code::NotFound, "delete");
    let in_group = proto::UserGroupRequest { id: group.clone(), ..Default::default() };
    assert_code(grpc.groups().get_participants(as_user(&mallory, in_group.clone())).await, Code::NotFound, "members");
    assert_code(grpc.groups().delete(as_user(&mallory, in_group.clone())).await, Code::NotFound, "delete group");
    assert_code(grpc.groups().leave(as_user(&mallory, in_group)).await, Code::NotFound, "leave");
    let add =
        proto::AddParticipantRequest { id: group.clone(), users: vec![mallory.id.to_string()], ..Default::default() };
    assert_code(grpc.groups().add_members(as_user(&mallory, add)).await, Code::NotFound, "join");
    // A user of another tenant cannot be written to either.
    let open = proto::CreateConversationInput { recipient_id: alice.id.to_string(), ..Default::default() };
    assert_code(grpc.conversations().create(as_user(&mallory, open)).await, Code::NotFound, "open with alice");

    // Mallory's list is empty, and Alice's data is untouched.
    let list = grpc.conversations().list(as_user(&mallory, proto::UserId::default())).await.unwrap().into_inner();
    assert!(list.conversations.is_empty(), "{list:?}");
    let (_, members) = grpc.app.get(&alice, &format!("/api/chat/groups/{group}/members")).await;
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2), "{members}");

    // The same user id in another tenant is another user.
    let alice_elsewhere = TestUser { tenant: Some(tenant_b), ..alice.clone() };
    assert_code(
        grpc.conversations().get(as_user(&alice_elsewhere, get(&conversation))).await,
        Code::NotFound,
        "same id",
    );
}
