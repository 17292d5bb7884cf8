use chat_application::dto::{
    ConversationDeletionDto, DeleteMessageInput, DeleteScopeDto, EditMessageInput, MessageDeletionDto,
    UpdateChatSettingsInput, UpdateTenantSettingsInput,
};
use chat_domain::{ConversationId, MessageId};

use std::sync::Arc;

use chat_application::{ChatOptions, UnlimitedRateLimiter};

use crate::support::{app, app_over, app_with, code, field};

fn tenant_change(change: UpdateTenantSettingsInput) -> UpdateChatSettingsInput {
    UpdateChatSettingsInput { tenant: Some(change), ..Default::default() }
}

#[tokio::test]
async fn defaults_follow_abp_and_users_change_their_own() {
    let app = app();
    let me = app.user("me").await;
    let settings = app.chat.settings().get_settings(&me).await.unwrap();
    assert!(settings.send_on_enter && settings.tenant.chat_enabled && settings.tenant.search_other_contacts);
    assert_eq!(settings.tenant.deleting_messages, MessageDeletionDto::Enabled);
    assert_eq!(settings.tenant.deleting_conversations, ConversationDeletionDto::Enabled);
    assert_eq!((settings.tenant.edit_window, settings.tenant.message_deletion_period), (0, 0));
    assert!(!settings.can_manage_tenant);
    let changed = app
        .chat
        .settings()
        .update_settings(&me, UpdateChatSettingsInput { send_on_enter: Some(false), tenant: None })
        .await
        .unwrap();
    assert!(!changed.send_on_enter);
    let json = serde_json::to_value(&changed).unwrap();
    assert_eq!(json["sendOnEnter"], false);
    for key in [
        "chatEnabled",
        "deletingMessages",
        "messageDeletionPeriod",
        "deletingConversations",
        "searchOtherContacts",
        "editWindow",
    ] {
        assert!(json["tenant"].get(key).is_some(), "{key}");
    }
    assert_eq!(json["tenant"]["deletingMessages"], "enabled");
}

#[tokio::test]
async fn only_tenant_admins_change_tenant_settings() {
    let app = app();
    let me = app.user("me").await;
    let admin = app.user("admin").await.as_tenant_admin();
    let off = UpdateTenantSettingsInput { chat_enabled: Some(false), ..Default::default() };
    let refused = UpdateChatSettingsInput { send_on_enter: Some(false), tenant: Some(off.clone()) };
    assert_eq!(code(app.chat.settings().update_settings(&me, refused).await), "chat.forbidden");
    let unchanged = app.chat.settings().get_settings(&me).await.unwrap();
    assert!(unchanged.send_on_enter && unchanged.tenant.chat_enabled, "nothing was saved");
    let negative = UpdateTenantSettingsInput { edit_window: Some(-1), ..Default::default() };
    assert_eq!(field(app.chat.settings().update_settings(&admin, tenant_change(negative)).await), "tenant.editWindow");
    let done = app.chat.settings().update_settings(&admin, tenant_change(off)).await.unwrap();
    assert!(!done.tenant.chat_enabled && done.can_manage_tenant);
    // Another tenant is untouched.
    let elsewhere = app.user_in(crate::support::tenant(), "x").await;
    assert!(app.chat.settings().get_settings(&elsewhere).await.unwrap().tenant.chat_enabled);
}

#[tokio::test]
async fn disabled_chat_refuses_sends() {
    let app = app();
    let (me, you) = (app.user("me").await, app.user("you").await);
    let admin = app.user("admin").await.as_tenant_admin();
    // A send first, so that the module holds the tenant's settings when they change.
    app.send(&me, &you, "before").await;
    let delivered = app.sender.events().len();
    let off = UpdateTenantSettingsInput { chat_enabled: Some(false), ..Default::default() };
    app.chat.settings().update_settings(&admin, tenant_change(off)).await.unwrap();
    let refused = app.try_send(&me, &you, "hello?").await;
    assert_eq!(code(refused), "chat.disabled", "a change made through the module applies at once");
    assert_eq!(app.sender.events().len(), delivered, "nothing was sent");
    let on = UpdateTenantSettingsInput { chat_enabled: Some(true), ..Default::default() };
    app.chat.settings().update_settings(&admin, tenant_change(on)).await.unwrap();
    assert!(app.try_send(&me, &you, "hello").await.is_ok());
}

/// Two modules over one store, as two nodes of a cluster over one database: a change made through one
/// reaches the other when its copy of the tenant's settings expires (`tenant_settings_ttl`), not later.
#[tokio::test]
async fn another_module_sees_a_change_within_the_settings_time_to_live() {
    let ttl = std::time::Duration::from_secs(5);
    let options = || ChatOptions { tenant_settings_ttl: ttl, ..Default::default() };
    let first = app_with(|b| b.rate_limiter(Arc::new(UnlimitedRateLimiter)).options(options()));
    let second = app_over(first.repos.clone(), |b| b.rate_limiter(Arc::new(UnlimitedRateLimiter)).options(options()));
    let (me, you) = (first.user("me").await, first.user("you").await);
    let admin = first.user("admin").await.as_tenant_admin();
    second.send(&me, &you, "the second module reads the settings").await;
    let off = UpdateTenantSettingsInput { chat_enabled: Some(false), ..Default::default() };
    first.chat.settings().update_settings(&admin, tenant_change(off)).await.unwrap();
    assert_eq!(code(first.try_send(&me, &you, "refused here").await), "chat.disabled");
    // `try_send` moves the second module's clock on by a second per send.
    assert!(second.try_send(&me, &you, "still within its copy's time").await.is_ok());
    second.clock.advance(chrono::Duration::from_std(ttl).unwrap());
    assert_eq!(code(second.try_send(&me, &you, "refused there too").await), "chat.disabled");
}

#[tokio::test]
async fn deletion_settings_and_period_are_respected() {
    let app = app();
    let (me, you) = (app.user("me").await, app.user("you").await);
    let admin = app.user("admin").await.as_tenant_admin();
    let everyone = DeleteMessageInput { scope: DeleteScopeDto::Everyone };
    let svc = app.chat.conversations();
    let m = app.send(&me, &you, "one").await;
    let disable =
        UpdateTenantSettingsInput { deleting_messages: Some(MessageDeletionDto::Disabled), ..Default::default() };
    app.chat.settings().update_settings(&admin, tenant_change(disable)).await.unwrap();
    assert_eq!(code(svc.delete_message(&me, MessageId::from_uuid(m.id), everyone).await), "chat.forbidden");
    let me_only = DeleteMessageInput { scope: DeleteScopeDto::Me };
    assert!(
        svc.delete_message(&me, MessageId::from_uuid(m.id), me_only).await.is_ok(),
        "deleting for me stays allowed"
    );
    let period = UpdateTenantSettingsInput {
        deleting_messages: Some(MessageDeletionDto::EnabledWithDeletionPeriod),
        message_deletion_period: Some(60),
        ..Default::default()
    };
    app.chat.settings().update_settings(&admin, tenant_change(period)).await.unwrap();
    let fresh = app.send(&me, &you, "two").await;
    let old = app.send(&me, &you, "three").await;
    app.clock.advance(chrono::Duration::seconds(30));
    assert!(svc.delete_message(&me, MessageId::from_uuid(fresh.id), everyone).await.is_ok());
    app.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(code(svc.delete_message(&me, MessageId::from_uuid(old.id), everyone).await), "chat.forbidden");
    let no_conversation_deletion = UpdateTenantSettingsInput {
        deleting_conversations: Some(ConversationDeletionDto::Disabled),
        ..Default::default()
    };
    app.chat.settings().update_settings(&admin, tenant_change(no_conversation_deletion)).await.unwrap();
    let id = ConversationId::from_uuid(m.conversation_id);
    assert_eq!(code(svc.delete_conversation(&me, id).await), "chat.forbidden");
}

#[tokio::test]
async fn the_edit_window_is_respected() {
    let app = app();
    let (me, you) = (app.user("me").await, app.user("you").await);
    let admin = app.user("admin").await.as_tenant_admin();
    let window = UpdateTenantSettingsInput { edit_window: Some(60), ..Default::default() };
    app.chat.settings().update_settings(&admin, tenant_change(window)).await.unwrap();
    let m = app.send(&me, &you, "typo").await;
    let id = MessageId::from_uuid(m.id);
    let svc = app.chat.conversations();
    assert!(svc.edit_message(&me, id, EditMessageInput { text: "fixed".into() }).await.is_ok());
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(code(svc.edit_message(&me, id, EditMessageInput { text: "late".into() }).await), "chat.forbidden");
}
