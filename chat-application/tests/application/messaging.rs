use chat_application::dto::{
    ArchiveConversationInput, ConversationTypeDto, DeleteMessageInput, DeleteScopeDto, EditMessageInput,
    GetDirectConversationInput, GetMessagesInput, ListConversationsInput, MarkReadInput, MessageSideDto,
    MuteConversationInput, OpenDirectConversationInput, SearchMessagesInput, SendMessageInput, TypingInput,
};
use chat_domain::{ConversationId, MessageId};
use std::time::Duration;

use crate::support::{app, code, field};

#[tokio::test]
async fn sending_to_a_user_creates_the_conversation_and_tells_both() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "  <b>hi</b> ").await;
    assert_eq!((m.seq, m.text.as_deref(), m.deleted), (1, Some("  <b>hi</b> "), false));
    assert_eq!(m.sender_id, alice.user.as_uuid());
    let events = app.sender.named("message.created");
    assert_eq!(events.len(), 1);
    let mut users: Vec<_> = events[0].users().collect();
    users.sort();
    let mut expected = vec![alice.user, bob.user];
    expected.sort();
    assert_eq!(users, expected);
    assert!(events[0].recipients.iter().all(|(_, seq)| seq.is_some()));
    assert_eq!(events[0].data["conversationId"], m.conversation_id.to_string());
    assert_eq!(events[0].data["text"], "  <b>hi</b> ");
    let json = serde_json::to_value(&m).unwrap();
    for key in [
        "id",
        "conversationId",
        "seq",
        "senderId",
        "text",
        "replyToId",
        "attachments",
        "reactions",
        "clientMessageId",
        "createdAt",
        "editedAt",
        "deleted",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(*events[0].data, json, "the event carries the same message DTO");
    let second = app.send(&bob, &alice, "back").await;
    assert_eq!((second.seq, second.conversation_id), (2, m.conversation_id));
}

#[tokio::test]
async fn a_repeated_client_message_id_returns_the_original() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let input = SendMessageInput {
        target_user_id: Some(bob.user.as_uuid()),
        text: "once".into(),
        client_message_id: Some("k-1".into()),
        ..Default::default()
    };
    let first = app.chat.conversations().send_message(&alice, input.clone()).await.unwrap();
    app.sender.clear();
    let again = app
        .chat
        .conversations()
        .send_message(&alice, SendMessageInput { text: "twice".into(), ..input })
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(app.sender.events().is_empty(), "a duplicate announces nothing");
    let page = app
        .chat
        .conversations()
        .get_messages(&bob, ConversationId::from_uuid(first.conversation_id), GetMessagesInput::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    // The same key from another sender is another message.
    let from_bob = SendMessageInput {
        target_user_id: Some(alice.user.as_uuid()),
        text: "mine".into(),
        client_message_id: Some("k-1".into()),
        ..Default::default()
    };
    assert_eq!(app.chat.conversations().send_message(&bob, from_bob).await.unwrap().seq, 2);
}

#[tokio::test]
async fn bad_send_input_lists_every_bad_field() {
    let app = app();
    let alice = app.user("alice").await;
    let input =
        SendMessageInput { text: "   ".into(), client_message_id: Some("has space".into()), ..Default::default() };
    let error = app.chat.conversations().send_message(&alice, input).await.unwrap_err();
    let fields: Vec<_> = error.field_errors().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["targetUserId", "text", "clientMessageId"]);
    let long =
        SendMessageInput { target_user_id: Some(alice.user.as_uuid()), text: "x".repeat(4001), ..Default::default() };
    assert_eq!(field(app.chat.conversations().send_message(&alice, long).await), "text");
    let to_self =
        SendMessageInput { target_user_id: Some(alice.user.as_uuid()), text: "me".into(), ..Default::default() };
    assert_eq!(field(app.chat.conversations().send_message(&alice, to_self).await), "targetUserId");
    let ghost =
        SendMessageInput { target_user_id: Some(uuid::Uuid::new_v4()), text: "anyone?".into(), ..Default::default() };
    assert_eq!(code(app.chat.conversations().send_message(&alice, ghost).await), "chat.not_found");
    let too_many = SendMessageInput {
        target_user_id: Some(uuid::Uuid::new_v4()),
        text: "files".into(),
        attachment_ids: (0..11).map(|_| uuid::Uuid::new_v4()).collect(),
        ..Default::default()
    };
    assert_eq!(field(app.chat.conversations().send_message(&alice, too_many).await), "attachmentIds");
    assert!(app.sender.events().is_empty());
}

#[tokio::test]
async fn inputs_reject_wrong_types_and_accept_camel_case() {
    let ok: SendMessageInput =
        serde_json::from_str(r#"{"targetUserId":"0196b1c4-0000-7000-8000-000000000001","text":"hi","extra":1}"#)
            .unwrap();
    assert_eq!(ok.text, "hi");
    assert!(serde_json::from_str::<SendMessageInput>(r#"{"targetUserId":"nope","text":"hi"}"#).is_err());
    assert!(serde_json::from_str::<SendMessageInput>(r#"{"conversationId":"x","text":5}"#).is_err());
}

#[tokio::test]
async fn history_pages_backwards_and_forwards_with_cursors() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let mut conversation = uuid::Uuid::nil();
    for i in 1..=7 {
        conversation = app.send(&alice, &bob, &format!("m{i}")).await.conversation_id;
    }
    let id = ConversationId::from_uuid(conversation);
    let svc = app.chat.conversations();
    let latest = svc.get_messages(&bob, id, GetMessagesInput { limit: Some(3), ..Default::default() }).await.unwrap();
    assert_eq!(latest.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 6, 7]);
    assert!(latest.has_more);
    let older = svc
        .get_messages(
            &bob,
            id,
            GetMessagesInput { before: latest.next_cursor.clone(), limit: Some(3), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(older.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 3, 4]);
    let oldest = svc
        .get_messages(
            &bob,
            id,
            GetMessagesInput { before: older.next_cursor.clone(), limit: Some(3), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(oldest.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
    assert!(!oldest.has_more && oldest.next_cursor.is_none());
    let forward = svc
        .get_messages(&bob, id, GetMessagesInput { after: Some("2".into()), limit: Some(2), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(forward.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [3, 4]);
    let rest = svc
        .get_messages(&bob, id, GetMessagesInput { after: forward.next_cursor, limit: Some(10), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(rest.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 6, 7]);
    // Time range: messages are one second apart.
    let from = latest.items[0].created_at;
    let ranged = svc
        .get_messages(&bob, id, GetMessagesInput { from: Some(from), to: Some(from), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(ranged.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [5]);
    let bad = GetMessagesInput { before: Some("abc".into()), ..Default::default() };
    assert_eq!(field(svc.get_messages(&bob, id, bad).await), "before");
    let bad = GetMessagesInput { limit: Some(101), ..Default::default() };
    assert_eq!(field(svc.get_messages(&bob, id, bad).await), "limit");
    let bad = GetMessagesInput { limit: Some(0), ..Default::default() };
    assert_eq!(field(svc.get_messages(&bob, id, bad).await), "limit");
}

#[tokio::test]
async fn conversation_details_show_the_callers_side() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "hello").await;
    let id = ConversationId::from_uuid(m.conversation_id);
    let mine = app.chat.conversations().get_conversation(&alice, id).await.unwrap();
    assert_eq!(mine.kind, ConversationTypeDto::Direct);
    assert_eq!(mine.target_user_id, Some(bob.user.as_uuid()));
    assert_eq!(mine.name.as_deref(), Some("bob"));
    assert_eq!(mine.last_message_side, Some(MessageSideDto::Send));
    assert_eq!(mine.last_message.as_ref().map(|l| l.id), Some(m.id));
    assert_eq!((mine.unread_count, mine.member_count), (0, 2));
    let theirs = app.chat.conversations().get_conversation(&bob, id).await.unwrap();
    assert_eq!((theirs.last_message_side, theirs.unread_count), (Some(MessageSideDto::Receive), 1));
    assert_eq!(theirs.last_message_date, Some(m.created_at));
    let json = serde_json::to_value(&theirs).unwrap();
    assert_eq!(json["type"], "direct");
    assert_eq!(json["lastMessageSide"], "receive");
    assert!(json.get("targetUserId").is_some() && json.get("memberCount").is_some());
}

#[tokio::test]
async fn the_conversation_list_is_newest_activity_first_and_hides_archived() {
    let app = app();
    let me = app.user("me").await;
    let mut others = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let other = app.user(name).await;
        app.send(&other, &me, "hi").await;
        others.push(other);
    }
    app.send(&others[0], &me, "again").await;
    let svc = app.chat.conversations();
    let first =
        svc.get_conversations(&me, ListConversationsInput { limit: Some(2), ..Default::default() }).await.unwrap();
    let names: Vec<_> = first.items.iter().map(|c| c.name.clone().unwrap()).collect();
    assert_eq!(names, ["a", "d"]);
    let next = ListConversationsInput { cursor: first.next_cursor.clone(), limit: Some(2), ..Default::default() };
    let second = svc.get_conversations(&me, next).await.unwrap();
    assert_eq!(second.items.iter().map(|c| c.name.clone().unwrap()).collect::<Vec<_>>(), ["c", "b"]);
    assert!(!second.has_more);
    let d = ConversationId::from_uuid(first.items[1].id);
    let archived = svc.set_archived(&me, d, ArchiveConversationInput { archived: true }).await.unwrap();
    assert!(archived.archived);
    let muted = svc.set_muted(&me, d, MuteConversationInput { muted: true }).await.unwrap();
    assert!(muted.muted && muted.archived);
    let updated = app.sender.named("conversation.updated");
    assert_eq!(updated.len(), 2);
    assert!(updated.iter().all(|e| e.users().collect::<Vec<_>>() == [me.user]));
    let all = svc.get_conversations(&me, ListConversationsInput::default()).await.unwrap();
    assert_eq!(all.items.len(), 3);
    let with_archived = svc
        .get_conversations(&me, ListConversationsInput { include_archived: true, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(with_archived.items.len(), 4);
    let bad = ListConversationsInput { cursor: Some("garbage".into()), ..Default::default() };
    assert_eq!(field(svc.get_conversations(&me, bad).await), "cursor");
}

#[tokio::test]
async fn opening_a_direct_conversation_is_idempotent_and_get_conversation_returns_latest_messages() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let svc = app.chat.conversations();
    let none = svc.get_direct_conversation(&alice, bob.user, GetDirectConversationInput::default()).await.unwrap();
    assert!(none.conversation.is_none() && none.messages.is_empty());
    assert_eq!(none.target_user.user_name, "bob");
    let open = OpenDirectConversationInput { target_user_id: bob.user.as_uuid() };
    let a = svc.open_direct_conversation(&alice, open.clone()).await.unwrap();
    let b = svc.open_direct_conversation(&alice, open).await.unwrap();
    assert_eq!(a.id, b.id);
    let from_bob = svc
        .open_direct_conversation(&bob, OpenDirectConversationInput { target_user_id: alice.user.as_uuid() })
        .await
        .unwrap();
    assert_eq!(from_bob.id, a.id);
    for i in 0..3 {
        app.send(&bob, &alice, &format!("m{i}")).await;
    }
    let got =
        svc.get_direct_conversation(&alice, bob.user, GetDirectConversationInput { limit: Some(2) }).await.unwrap();
    assert_eq!(got.conversation.map(|c| c.id), Some(a.id));
    assert_eq!(got.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 3]);
    assert!(got.has_more);
    let self_talk = OpenDirectConversationInput { target_user_id: alice.user.as_uuid() };
    assert_eq!(field(svc.open_direct_conversation(&alice, self_talk).await), "targetUserId");
    let ghost = OpenDirectConversationInput { target_user_id: uuid::Uuid::new_v4() };
    assert_eq!(code(svc.open_direct_conversation(&alice, ghost).await), "chat.not_found");
}

#[tokio::test]
async fn editing_updates_text_and_tells_members() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "helo").await;
    let id = MessageId::from_uuid(m.id);
    app.sender.clear();
    let edited =
        app.chat.conversations().edit_message(&alice, id, EditMessageInput { text: "hello".into() }).await.unwrap();
    assert_eq!(edited.text.as_deref(), Some("hello"));
    assert!(edited.edited_at.is_some());
    let event = app.sender.named("message.updated");
    assert_eq!(event.len(), 1);
    assert_eq!(event[0].data["text"], "hello");
    assert_eq!(event[0].users().count(), 2);
    let empty = EditMessageInput { text: " ".into() };
    assert_eq!(field(app.chat.conversations().edit_message(&alice, id, empty).await), "text");
    let by_bob = EditMessageInput { text: "mine now".into() };
    assert_eq!(code(app.chat.conversations().edit_message(&bob, id, by_bob).await), "chat.forbidden");
    let fetched = app.chat.conversations().get_message(&bob, id).await.unwrap();
    assert_eq!(fetched.text.as_deref(), Some("hello"));
}

#[tokio::test]
async fn deleting_for_me_hides_only_my_copy_and_for_everyone_erases_it() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m1 = app.send(&alice, &bob, "one").await;
    let m2 = app.send(&alice, &bob, "two").await;
    let conversation = ConversationId::from_uuid(m1.conversation_id);
    let svc = app.chat.conversations();
    app.sender.clear();
    svc.delete_message(&bob, MessageId::from_uuid(m1.id), DeleteMessageInput { scope: DeleteScopeDto::Me })
        .await
        .unwrap();
    let deleted = app.sender.named("message.deleted");
    assert_eq!(deleted[0].users().collect::<Vec<_>>(), [bob.user]);
    assert_eq!(deleted[0].data["scope"], "me");
    assert_eq!(code(svc.get_message(&bob, MessageId::from_uuid(m1.id)).await), "chat.not_found");
    assert!(svc.get_message(&alice, MessageId::from_uuid(m1.id)).await.is_ok());
    let bobs = svc.get_messages(&bob, conversation, GetMessagesInput::default()).await.unwrap();
    assert_eq!(bobs.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [2]);
    assert_eq!(svc.get_conversation(&bob, conversation).await.unwrap().unread_count, 1);

    let everyone = DeleteMessageInput { scope: DeleteScopeDto::Everyone };
    assert_eq!(code(svc.delete_message(&bob, MessageId::from_uuid(m2.id), everyone).await), "chat.forbidden");
    svc.delete_message(&alice, MessageId::from_uuid(m2.id), everyone).await.unwrap();
    let gone = svc.get_message(&bob, MessageId::from_uuid(m2.id)).await.unwrap();
    assert!(gone.deleted && gone.text.is_none());
    assert_eq!(svc.get_conversation(&bob, conversation).await.unwrap().unread_count, 0);
    let event = app.sender.named("message.deleted").pop().unwrap();
    assert_eq!(event.data["scope"], "everyone");
    assert_eq!(event.users().count(), 2);
    assert_eq!(code(svc.delete_message(&alice, MessageId::from_uuid(m2.id), everyone).await), "chat.conflict");
}

#[tokio::test]
async fn reactions_are_validated_counted_and_announced() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "nice").await;
    let id = MessageId::from_uuid(m.id);
    let svc = app.chat.conversations();
    app.sender.clear();
    for (who, emoji) in [(&bob, "👍"), (&bob, "👍"), (&alice, "👍"), (&alice, ":tada:")] {
        app.tick();
        svc.add_reaction(who, id, emoji).await.unwrap();
    }
    assert_eq!(app.sender.named("message.reaction").len(), 3, "a repeated reaction is not announced");
    let seen_by_bob = svc.get_message(&bob, id).await.unwrap();
    let summary: Vec<_> = seen_by_bob.reactions.iter().map(|r| (r.emoji.as_str(), r.count, r.me)).collect();
    assert_eq!(summary, [("👍", 2, true), (":tada:", 1, false)]);
    svc.remove_reaction(&bob, id, "👍").await.unwrap();
    let event = app.sender.named("message.reaction").pop().unwrap();
    assert_eq!(event.data["added"], false);
    assert_eq!(event.data["emoji"], "👍");
    assert_eq!(event.data["userId"], bob.user.to_string());
    assert_eq!(field(svc.add_reaction(&bob, id, "not an emoji").await), "emoji");
    assert_eq!(field(svc.add_reaction(&bob, id, "👍👍").await), "emoji");
    let after = svc.get_message(&alice, id).await.unwrap();
    assert_eq!(after.reactions.iter().map(|r| (r.count, r.me)).collect::<Vec<_>>(), [(1, true), (1, true)]);
}

#[tokio::test]
async fn deleting_my_side_clears_history_until_the_next_message() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "old").await;
    let id = ConversationId::from_uuid(m.conversation_id);
    let svc = app.chat.conversations();
    svc.delete_conversation(&bob, id).await.unwrap();
    assert_eq!(app.sender.named("conversation.deleted")[0].users().collect::<Vec<_>>(), [bob.user]);
    assert!(svc.get_conversations(&bob, ListConversationsInput::default()).await.unwrap().items.is_empty());
    assert!(svc.get_messages(&bob, id, GetMessagesInput::default()).await.unwrap().items.is_empty());
    assert_eq!(code(svc.get_message(&bob, MessageId::from_uuid(m.id)).await), "chat.not_found");
    app.send(&alice, &bob, "new").await;
    let list = svc.get_conversations(&bob, ListConversationsInput::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    let history = svc.get_messages(&bob, id, GetMessagesInput::default()).await.unwrap();
    assert_eq!(history.items.iter().map(|m| m.text.clone().unwrap()).collect::<Vec<_>>(), ["new"]);
    // Alice keeps everything.
    assert_eq!(svc.get_messages(&alice, id, GetMessagesInput::default()).await.unwrap().items.len(), 2);
}

#[tokio::test]
async fn search_finds_only_my_conversations_and_pages_by_offset() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    for i in 0..3 {
        app.send(&alice, &bob, &format!("banana {i}")).await;
    }
    let other = app.send(&bob, &carol, "banana secret").await;
    let svc = app.chat.conversations();
    let q = |cursor: Option<String>| SearchMessagesInput {
        q: "banana".into(),
        cursor,
        limit: Some(2),
        ..Default::default()
    };
    let first = svc.search_messages(&alice, q(None)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.has_more);
    let second = svc.search_messages(&alice, q(first.next_cursor.clone())).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(!second.has_more);
    assert!(first.items.iter().chain(&second.items).all(|m| m.conversation_id != other.conversation_id));
    let in_other =
        SearchMessagesInput { q: "banana".into(), conversation_id: Some(other.conversation_id), ..Default::default() };
    assert_eq!(code(svc.search_messages(&alice, in_other).await), "chat.not_found");
    assert_eq!(
        field(svc.search_messages(&alice, SearchMessagesInput { q: "  ".into(), ..Default::default() }).await),
        "q"
    );
    let bad = SearchMessagesInput { q: "x".into(), cursor: Some("-1".into()), ..Default::default() };
    assert_eq!(field(svc.search_messages(&alice, bad).await), "cursor");
}

#[tokio::test]
async fn typing_reaches_the_other_members_only_and_is_not_stored() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let group = app.group(&alice, &[&bob, &carol]).await;
    app.sender.clear();
    let input = TypingInput { conversation_id: group.id, is_typing: true };
    app.chat.conversations().typing(&alice, input).await.unwrap();
    let typing = app.sender.wait_for(Duration::from_secs(1), |e| e.name == "typing").await.unwrap();
    assert!(typing.is_ephemeral());
    let mut users: Vec<_> = typing.users().collect();
    users.sort();
    let mut expected = vec![bob.user, carol.user];
    expected.sort();
    assert_eq!(users, expected);
    assert_eq!(typing.data["isTyping"], true);
    let envelope = serde_json::to_value(typing.envelope_for(bob.user).unwrap()).unwrap();
    assert!(envelope.get("eventSeq").is_none());
    assert_eq!(envelope["type"], "typing");
    let before = app.chat.sync().get_position(&bob).await.unwrap();
    app.chat.conversations().typing(&alice, TypingInput { conversation_id: group.id, is_typing: false }).await.unwrap();
    assert_eq!(app.chat.sync().get_position(&bob).await.unwrap(), before, "typing is never stored");
    let outsider = app.user("dave").await;
    let input = TypingInput { conversation_id: group.id, is_typing: true };
    assert_eq!(code(app.chat.conversations().typing(&outsider, input).await), "chat.not_found");
}

#[tokio::test]
async fn receipts_list_when_each_member_received_and_read() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let group = app.group(&alice, &[&bob, &carol]).await;
    let m = app.post(&alice, group.id, "hello all").await;
    let svc = app.chat.conversations();
    app.tick();
    svc.mark_delivered(&bob, chat_application::dto::MarkDeliveredInput { message_ids: vec![m.id] }).await.unwrap();
    app.tick();
    svc.mark_read(&carol, ConversationId::from_uuid(group.id), MarkReadInput::default()).await.unwrap();
    let receipts = svc.get_receipts(&alice, MessageId::from_uuid(m.id)).await.unwrap();
    assert_eq!(receipts.message_id, m.id);
    let of = |u: &chat_application::CallerContext| {
        receipts.members.iter().find(|r| r.user_id == u.user.as_uuid()).cloned().unwrap()
    };
    assert!(of(&bob).delivered_at.is_some() && of(&bob).read_at.is_none());
    assert!(of(&carol).delivered_at.is_some() && of(&carol).read_at.is_some());
    let outsider = app.user("dave").await;
    assert_eq!(code(svc.get_receipts(&outsider, MessageId::from_uuid(m.id)).await), "chat.not_found");
    let json = serde_json::to_value(&receipts).unwrap();
    assert!(json["members"][0].get("deliveredAt").is_some());
}

#[tokio::test]
async fn replies_must_stay_in_their_conversation() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let m = app.send(&alice, &bob, "question").await;
    let elsewhere = app.send(&alice, &carol, "other").await;
    let reply = SendMessageInput {
        conversation_id: Some(m.conversation_id),
        text: "answer".into(),
        reply_to_id: Some(m.id),
        ..Default::default()
    };
    let sent = app.chat.conversations().send_message(&bob, reply.clone()).await.unwrap();
    assert_eq!(sent.reply_to_id, Some(m.id));
    let wrong = SendMessageInput { reply_to_id: Some(elsewhere.id), ..reply };
    assert_eq!(field(app.chat.conversations().send_message(&bob, wrong).await), "replyToId");
}
