//! Editing, deleting and replying over gRPC.

use chat_host::grpc::proto;
use chat_tests::TestUser;
use tonic::Code;

use crate::support::{GrpcApp, as_user, assert_code, spawn_grpc};

fn text(id: &str, text: &str) -> proto::UpdateMessageInput {
    proto::UpdateMessageInput {
        id: id.to_owned(),
        data: Some(proto::MessageInput { text: text.to_owned() }),
        ..Default::default()
    }
}

fn delete(id: &str, only_for_me: bool) -> proto::DeleteMessageInput {
    proto::DeleteMessageInput { id: id.to_owned(), only_for_me: Some(only_for_me), ..Default::default() }
}

async fn history(grpc: &GrpcApp, user: &TestUser, conversation: &str) -> Vec<proto::MessageData> {
    let request = proto::GetConversation { id: conversation.to_owned(), ..Default::default() };
    grpc.conversations().messages(as_user(user, request)).await.unwrap().into_inner().messages
}

#[tokio::test]
async fn messages_are_edited_replied_to_and_deleted_by_whom_may() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    let conversation = grpc.direct(&alice, &bob).await;
    let first = grpc.send(&alice, &conversation, "first").await;

    // Only the author edits.
    assert_code(
        grpc.messages().update(as_user(&bob, text(&first.id, "hacked"))).await,
        Code::PermissionDenied,
        "peer edits",
    );
    let edited = grpc.messages().update(as_user(&alice, text(&first.id, "first (edited)"))).await.unwrap().into_inner();
    assert_eq!(edited.text, "first (edited)");
    assert_eq!((edited.id.as_str(), edited.seq), (first.id.as_str(), first.seq));
    assert!(edited.edited_at.is_some());

    // A reply lands in the message's conversation and names it.
    let reply = grpc.messages().reply(as_user(&bob, text(&first.id, "a reply"))).await.unwrap().into_inner();
    assert_eq!(reply.conversation_id, conversation);
    assert_eq!(reply.reply_id.as_deref(), Some(first.id.as_str()));
    assert_eq!(reply.sender_id, bob.id.to_string());
    let (_, rest) = grpc.app.get(&alice, &format!("/api/chat/messages/{}", reply.id)).await;
    assert_eq!(rest["replyToId"], first.id.as_str());

    // Deleting for everyone is the sender's; deleting for oneself hides it from oneself only.
    assert_code(
        grpc.messages().delete(as_user(&bob, delete(&first.id, false))).await,
        Code::PermissionDenied,
        "peer deletes",
    );
    assert!(grpc.messages().delete(as_user(&bob, delete(&reply.id, true))).await.unwrap().into_inner().success);
    assert!(!history(&grpc, &bob, &conversation).await.iter().any(|m| m.id == reply.id));
    assert!(history(&grpc, &alice, &conversation).await.iter().any(|m| m.id == reply.id));
    let legacy_default = proto::DeleteMessageInput { id: first.id.clone(), ..Default::default() };
    assert!(grpc.messages().delete(as_user(&alice, legacy_default)).await.unwrap().into_inner().success);
    let (_, gone) = grpc.app.get(&bob, &format!("/api/chat/messages/{}", first.id)).await;
    assert_eq!(gone["deleted"], true, "the default deletes for everyone: {gone}");
    let listed = history(&grpc, &bob, &conversation).await;
    let m =
        listed.iter().find(|m| m.id == first.id).expect("a message deleted for everyone stays listed, marked deleted");
    assert!(m.deleted && m.text.is_empty(), "{m:?}");

    // A deleted message cannot be edited any more: a state conflict.
    assert_code(
        grpc.messages().update(as_user(&alice, text(&first.id, "again"))).await,
        Code::FailedPrecondition,
        "edit a deleted message",
    );
    // Replying to an unknown message: not found.
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_code(grpc.messages().reply(as_user(&bob, text(&unknown, "?"))).await, Code::NotFound, "reply to nothing");
}
