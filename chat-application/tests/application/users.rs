use chat_application::CallerContext;
use chat_application::dto::UpsertChatUserInput;
use chat_domain::{TenantId, UserId};

use crate::support::{app, code, field};

#[tokio::test]
async fn syncing_the_caller_writes_only_when_something_changed() {
    let app = app();
    let caller = CallerContext::new(TenantId::HOST, UserId::from_uuid(uuid::Uuid::new_v4())).with_names(
        "alice",
        Some("Alice".into()),
        None,
    );
    assert!(app.chat.users().sync_caller(&caller).await.unwrap());
    assert!(!app.chat.users().sync_caller(&caller).await.unwrap(), "unchanged: no write");
    let renamed = caller.clone().with_names("alice", Some("Alice".into()), Some("Liddell".into()));
    assert!(app.chat.users().sync_caller(&renamed).await.unwrap());
    let user = app.chat.users().get_user(&caller, caller.user).await.unwrap();
    assert_eq!((user.user_name.as_str(), user.surname.as_deref()), ("alice", Some("Liddell")));
    // Without a user name the id stands in.
    let anonymous = CallerContext::new(TenantId::HOST, UserId::from_uuid(uuid::Uuid::new_v4()));
    app.chat.users().sync_caller(&anonymous).await.unwrap();
    let user = app.chat.users().get_user(&caller, anonymous.user).await.unwrap();
    assert_eq!(user.user_name, anonymous.user.to_string());
}

#[tokio::test]
async fn embedding_applications_upsert_users_and_inactive_ones_cannot_be_messaged() {
    let app = app();
    let alice = app.user("alice").await;
    let id = uuid::Uuid::new_v4();
    let input = UpsertChatUserInput {
        tenant_id: None,
        user_id: id,
        user_name: "bob".into(),
        name: Some("Bob".into()),
        surname: None,
        active: true,
    };
    let bob = app.chat.users().upsert_user(input.clone()).await.unwrap();
    assert_eq!((bob.id, bob.active), (id, true));
    let bob_caller = CallerContext::new(TenantId::HOST, UserId::from_uuid(id));
    assert!(app.try_send(&alice, &bob_caller, "hi").await.is_ok());
    app.chat.users().upsert_user(UpsertChatUserInput { active: false, ..input.clone() }).await.unwrap();
    let stranger = app.user("carol").await;
    assert_eq!(code(app.try_send(&stranger, &bob_caller, "hello?").await), "chat.not_found");
    // Bob's own token does not bring him back: activity belongs to the embedding application.
    let bob_with_token = bob_caller.clone().with_names("bob", Some("Bob".into()), None);
    app.chat.users().sync_caller(&bob_with_token).await.unwrap();
    assert!(!app.chat.users().get_user(&alice, bob_with_token.user).await.unwrap().active);
    assert_eq!(
        field(app.chat.users().upsert_user(UpsertChatUserInput { user_name: " ".into(), ..input }).await),
        "userName"
    );
}
