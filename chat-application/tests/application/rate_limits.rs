use std::sync::Arc;
use std::time::Duration;

use chat_application::dto::{GetContactsInput, TypingInput};
use chat_application::{AppError, ChatOptions, GovernorRateLimiter, RateLimit, RateLimitOptions};

use crate::support::app_with;

#[tokio::test]
async fn sends_past_the_burst_are_refused_and_not_stored() {
    let app = app_with(|b| b); // the default limiter: sends 5/s with bursts of 10
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    for i in 0..10 {
        app.send(&alice, &bob, &format!("m{i}")).await;
    }
    app.sender.clear();
    match app.try_send(&alice, &bob, "one too many").await {
        Err(AppError::RateLimited { retry_after }) => assert!(retry_after > Duration::ZERO),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(app.sender.events().is_empty());
    let contacts = app.chat.contacts().get_contacts(&bob, GetContactsInput::default()).await.unwrap();
    assert_eq!(contacts[0].unread_message_count, 10, "nothing stored past the limit");
    // Budgets are per user: Bob may still write.
    assert!(app.try_send(&bob, &alice, "hi").await.is_ok());
}

#[tokio::test]
async fn typing_is_limited_to_once_per_period_but_stopping_always_goes_through() {
    let app = app_with(|b| b);
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "hi").await;
    let typing = |is_typing| TypingInput { conversation_id: m.conversation_id, is_typing };
    app.chat.conversations().typing(&alice, typing(true)).await.unwrap();
    let error = app.chat.conversations().typing(&alice, typing(true)).await.unwrap_err();
    assert_eq!(error.code(), "chat.rate_limited");
    assert!(app.chat.conversations().typing(&alice, typing(false)).await.is_ok());
}

#[tokio::test]
async fn other_calls_share_a_configurable_budget() {
    let limits = RateLimitOptions { other: RateLimit::per_second(1, 3), ..Default::default() };
    let app = app_with(|b| {
        b.rate_limiter(Arc::new(GovernorRateLimiter::new(limits)))
            .options(ChatOptions { rate_limits: limits, ..Default::default() })
    });
    let me = app.user("me").await;
    for _ in 0..3 {
        app.chat.contacts().get_total_unread_count(&me).await.unwrap();
    }
    assert_eq!(app.chat.settings().get_settings(&me).await.unwrap_err().code(), "chat.rate_limited");
    // User sync is never limited: hosts call it on every request.
    assert!(app.chat.users().sync_caller(&me).await.is_ok());
}
