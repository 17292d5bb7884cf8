use chat_application::dto::{GetMessagesInput, MarkDeliveredInput, MarkReadInput};
use chat_domain::ConversationId;

use crate::support::{app, code, field};

#[tokio::test]
async fn unread_counts_follow_each_members_read_watermark() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let group = app.group(&alice, &[&bob, &carol]).await;
    let id = ConversationId::from_uuid(group.id);
    app.post(&bob, group.id, "b").await;
    let mut messages = Vec::new();
    for i in 0..4 {
        messages.push(app.post(&alice, group.id, &format!("a{i}")).await);
    }
    let svc = app.chat.conversations();
    let chat = app.chat.clone();
    let unread = |c: &chat_application::CallerContext| {
        let (chat, c) = (chat.clone(), c.clone());
        async move { chat.conversations().get_conversation(&c, id).await.unwrap().unread_count }
    };
    // Sending counts everything before one's own message as read.
    assert_eq!((unread(&alice).await, unread(&bob).await, unread(&carol).await), (0, 4, 5));
    assert_eq!(app.chat.contacts().get_total_unread_count(&carol).await.unwrap().count, 5);

    app.sender.clear();
    svc.mark_read(&carol, id, MarkReadInput { up_to_message_id: Some(messages[1].id) }).await.unwrap();
    assert_eq!(unread(&carol).await, 2);
    let read = app.sender.named("message.read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].data["upToSeq"], 3);
    assert_eq!(read[0].data["userId"], carol.user.to_string());
    assert_eq!(read[0].users().count(), 3, "every member learns of the receipt");
    // Watermarks only move forward: reading an older message changes nothing and says nothing.
    svc.mark_read(&carol, id, MarkReadInput { up_to_message_id: Some(messages[0].id) }).await.unwrap();
    assert_eq!(unread(&carol).await, 2);
    assert_eq!(app.sender.named("message.read").len(), 1);
    svc.mark_read(&carol, id, MarkReadInput::default()).await.unwrap();
    assert_eq!(unread(&carol).await, 0);
    let side = svc.get_conversation(&carol, id).await.unwrap();
    assert_eq!((side.read_seq, side.delivered_seq), (5, 5));
    // Bob is untouched by Carol's reading.
    assert_eq!(unread(&bob).await, 4);
    assert_eq!(app.chat.contacts().get_total_unread_count(&bob).await.unwrap().count, 4);
    let ghost = MarkReadInput { up_to_message_id: Some(uuid::Uuid::new_v4()) };
    assert_eq!(code(svc.mark_read(&bob, id, ghost).await), "chat.not_found");
}

#[tokio::test]
async fn total_unread_adds_up_across_conversations() {
    let app = app();
    let (me, a, b) = (app.user("me").await, app.user("a").await, app.user("b").await);
    app.send(&a, &me, "1").await;
    app.send(&a, &me, "2").await;
    let from_b = app.send(&b, &me, "3").await;
    assert_eq!(app.chat.contacts().get_total_unread_count(&me).await.unwrap().count, 3);
    // Replying counts what came before as read, and a later read changes nothing more.
    app.send(&me, &b, "mine").await;
    assert_eq!(app.chat.contacts().get_total_unread_count(&me).await.unwrap().count, 2);
    app.chat
        .conversations()
        .mark_read(&me, ConversationId::from_uuid(from_b.conversation_id), MarkReadInput::default())
        .await
        .unwrap();
    assert_eq!(app.chat.contacts().get_total_unread_count(&me).await.unwrap().count, 2);
    let from_a = app.chat.contacts().get_contacts(&me, Default::default()).await.unwrap();
    let a_conversation = from_a.iter().find(|c| c.user_id == a.user.as_uuid()).unwrap().conversation_id.unwrap();
    app.chat
        .conversations()
        .mark_read(&me, ConversationId::from_uuid(a_conversation), MarkReadInput::default())
        .await
        .unwrap();
    assert_eq!(app.chat.contacts().get_total_unread_count(&me).await.unwrap().count, 0);
    assert_eq!(app.chat.contacts().get_total_unread_count(&a).await.unwrap().count, 0);
}

#[tokio::test]
async fn delivered_watermarks_move_to_the_highest_message_per_conversation() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let m1 = app.send(&alice, &bob, "1").await;
    let m2 = app.send(&alice, &bob, "2").await;
    let c1 = app.send(&carol, &bob, "c").await;
    app.sender.clear();
    let input = MarkDeliveredInput { message_ids: vec![m2.id, m1.id, c1.id, uuid::Uuid::new_v4()] };
    app.chat.conversations().mark_delivered(&bob, input.clone()).await.unwrap();
    let delivered = app.sender.named("message.delivered");
    assert_eq!(delivered.len(), 2);
    assert!(
        delivered.iter().any(|e| e.data["upToSeq"] == 2 && e.data["conversationId"] == m1.conversation_id.to_string())
    );
    let side =
        app.chat.conversations().get_conversation(&bob, ConversationId::from_uuid(m1.conversation_id)).await.unwrap();
    assert_eq!((side.delivered_seq, side.read_seq, side.unread_count), (2, 0, 2));
    app.chat.conversations().mark_delivered(&bob, input).await.unwrap();
    assert_eq!(app.sender.named("message.delivered").len(), 2, "nothing moved, nothing said");
    // Someone else's message ids deliver nothing for an outsider.
    let outsider = app.user("dave").await;
    app.chat.conversations().mark_delivered(&outsider, MarkDeliveredInput { message_ids: vec![m1.id] }).await.unwrap();
    assert_eq!(app.sender.named("message.delivered").len(), 2);
    let too_many = MarkDeliveredInput { message_ids: (0..101).map(|_| uuid::Uuid::new_v4()).collect() };
    assert_eq!(field(app.chat.conversations().mark_delivered(&bob, too_many).await), "messageIds");
}

#[tokio::test]
async fn a_member_added_later_starts_at_the_groups_latest_message() {
    let app = app();
    let (alice, bob, late) = (app.user("alice").await, app.user("bob").await, app.user("late").await);
    let group = app.group(&alice, &[&bob]).await;
    app.post(&alice, group.id, "before").await;
    let add = chat_application::dto::AddGroupMembersInput { user_ids: vec![late.user.as_uuid()] };
    app.chat.groups().add_members(&alice, ConversationId::from_uuid(group.id), add).await.unwrap();
    app.post(&bob, group.id, "after").await;
    let id = ConversationId::from_uuid(group.id);
    let side = app.chat.conversations().get_conversation(&late, id).await.unwrap();
    assert_eq!(side.unread_count, 1);
    let history = app.chat.conversations().get_messages(&late, id, GetMessagesInput::default()).await.unwrap();
    assert!(history.items.iter().any(|m| m.text.as_deref() == Some("after")));
}
