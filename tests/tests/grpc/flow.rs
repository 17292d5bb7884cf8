//! A direct conversation over gRPC: open, send, list, read history page by page; health.

use chat_host::grpc::proto;
use chat_tests::TestUser;
use tonic::Request;

use crate::support::{as_user, spawn_grpc};

#[tokio::test]
async fn health_answers_without_a_token() {
    let grpc = spawn_grpc().await;
    let status = grpc.conversations().health(Request::new(())).await.unwrap().into_inner();
    assert!(status.success);
}

#[tokio::test]
async fn a_direct_conversation_is_opened_messaged_listed_and_paged() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;

    // Opening is idempotent, with or without the legacy `user_id`.
    let input = proto::CreateConversationInput { user_id: String::new(), recipient_id: bob.id.to_string() };
    let opened = grpc.conversations().create(as_user(&alice, input)).await.unwrap().into_inner();
    assert_eq!(opened.group, Some(false));
    assert_eq!(opened.target_user_id, Some(bob.id.to_string()));
    let input = proto::CreateConversationInput { user_id: alice.id.to_string(), recipient_id: bob.id.to_string() };
    let again = grpc.conversations().create(as_user(&alice, input)).await.unwrap().into_inner();
    assert_eq!(again.id, opened.id);

    let mut sent = Vec::new();
    for i in 1..=5 {
        let message = grpc.send(&alice, &opened.id, &format!("hello {i}")).await;
        assert_eq!(message.seq, i);
        assert_eq!(message.conversation_id, opened.id);
        assert_eq!(message.sender_id, alice.id.to_string());
        assert_eq!(message.text, format!("hello {i}"));
        assert!(!message.id.is_empty() && !message.created_at.is_empty());
        sent.push(message);
    }

    // Bob sees the conversation with five unread messages, through the same services as REST.
    let list = grpc.conversations().list(as_user(&bob, proto::UserId::default())).await.unwrap().into_inner();
    let mine: Vec<_> = list.conversations.iter().filter(|c| c.id == opened.id).collect();
    assert_eq!(mine.len(), 1, "{list:?}");
    assert_eq!(mine[0].unread_count, 5);
    let (_, rest) = grpc.app.get(&bob, &format!("/api/chat/conversations/{}", opened.id)).await;
    assert_eq!(rest["unreadCount"], 5);
    let got = grpc
        .conversations()
        .get(as_user(&bob, proto::GetConversation { id: opened.id.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.target_user_id, Some(alice.id.to_string()));

    // History: the latest page first, then older pages through `next_cursor`.
    let page = |before: Option<String>| proto::GetConversation {
        id: opened.id.clone(),
        before,
        limit: Some(2),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    for expected in [vec![4, 5], vec![2, 3], vec![1]] {
        let list = grpc.conversations().messages(as_user(&bob, page(cursor.clone()))).await.unwrap().into_inner();
        let seqs: Vec<i64> = list.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, expected);
        assert_eq!(list.has_more, expected != [1]);
        seen.extend(list.messages.into_iter().map(|m| m.id));
        cursor = list.next_cursor;
    }
    assert!(cursor.is_none());
    seen.sort();
    let mut ids: Vec<String> = sent.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    assert_eq!(seen, ids);

    // `after` reads forward.
    let forward = proto::GetConversation { id: opened.id.clone(), after: Some("3".into()), ..Default::default() };
    let list = grpc.conversations().messages(as_user(&alice, forward)).await.unwrap().into_inner();
    assert_eq!(list.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [4, 5]);
}

#[tokio::test]
async fn conversations_are_listed_page_by_page() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let peers: Vec<TestUser> = (0..3).map(|i| TestUser::new(&format!("peer{i}"))).collect();
    let mut opened = Vec::new();
    for peer in &peers {
        grpc.app.touch(peer).await;
        let id = grpc.direct(&alice, peer).await;
        grpc.send(&alice, &id, "hi").await;
        opened.push(id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let request = proto::UserId { cursor: cursor.clone(), limit: Some(2), ..Default::default() };
        let page = grpc.conversations().list(as_user(&alice, request)).await.unwrap().into_inner();
        assert!(page.conversations.len() <= 2, "{page:?}");
        seen.extend(page.conversations.into_iter().map(|c| c.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    // Newest activity first: the last opened comes first.
    opened.reverse();
    assert_eq!(seen, opened);
}
