//! Tenants are isolated: nothing of one is visible, countable or reachable from another.

use chat_application::dto::{GetContactsInput, ListConversationsInput, SearchMessagesInput, SendMessageInput};
use chat_domain::{ConversationId, MessageId};

use crate::support::{app, code, tenant};

#[tokio::test]
async fn another_tenants_things_do_not_exist() {
    let app = app();
    let (t1, t2) = (tenant(), tenant());
    let (alice, bob) = (app.user_in(t1, "alice").await, app.user_in(t1, "bob").await);
    let mallory = app.user_in(t2, "mallory").await;
    let m = app.send(&alice, &bob, "tenant one only").await;
    let svc = app.chat.conversations();
    // Writing to a user of another tenant: that user does not exist here.
    let cross =
        SendMessageInput { target_user_id: Some(alice.user.as_uuid()), text: "hi".into(), ..Default::default() };
    assert_eq!(code(svc.send_message(&mallory, cross).await), "chat.not_found");
    assert_eq!(code(svc.get_message(&mallory, MessageId::from_uuid(m.id)).await), "chat.not_found");
    assert_eq!(
        code(svc.get_conversation(&mallory, ConversationId::from_uuid(m.conversation_id)).await),
        "chat.not_found"
    );
    let search = SearchMessagesInput { q: "tenant".into(), ..Default::default() };
    assert!(svc.search_messages(&mallory, search).await.unwrap().items.is_empty());
    assert!(svc.get_conversations(&mallory, ListConversationsInput::default()).await.unwrap().items.is_empty());
    assert_eq!(app.chat.contacts().get_total_unread_count(&mallory).await.unwrap().count, 0);
    let others = GetContactsInput { include_other_contacts: true, ..Default::default() };
    assert!(app.chat.contacts().get_contacts(&mallory, others).await.unwrap().is_empty());
    assert_eq!(code(app.chat.users().get_user(&mallory, alice.user).await), "chat.not_found");
    assert!(app.sender.events().iter().all(|e| e.tenant == t1));
}
