//! What happens when something fails: no event is ever sent for a unit of work that did not commit, a
//! sender failure never fails a committed call, and a concurrent duplicate resolves to the original.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chat_application::UnlimitedRateLimiter;
use chat_application::dto::{
    ConversationDeletionDto, CreateGroupInput, SendMessageInput, SyncInput, UpdateChatSettingsInput,
    UpdateTenantSettingsInput,
};
use chat_domain::memory::InMemoryChatStore;
use chat_domain::uow::{Committed, UnitOfWork, Work, WorkOutput};
use chat_domain::{ConversationId, Repositories, RepositoryError, WorkError};

use crate::support::{app, app_over, code};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Script {
    Pass,
    /// Storage refuses the unit (nothing is written).
    Fail,
    /// Another request commits the same unit first; ours then hits the unique key.
    CommitThenConflict,
}

struct ScriptedUnitOfWork {
    inner: Arc<InMemoryChatStore>,
    script: Mutex<Script>,
}

#[async_trait]
impl UnitOfWork for ScriptedUnitOfWork {
    async fn run(&self, work: Work) -> Result<Committed<WorkOutput>, WorkError> {
        let script = *self.script.lock().unwrap();
        match script {
            Script::Pass => self.inner.run(work).await,
            Script::Fail => Err(RepositoryError::storage_msg("disk on fire").into()),
            Script::CommitThenConflict => {
                *self.script.lock().unwrap() = Script::Pass;
                self.inner.run(work).await?;
                Err(RepositoryError::Conflict("duplicate client message id".into()).into())
            }
        }
    }
}

fn scripted() -> (crate::support::App, Arc<ScriptedUnitOfWork>) {
    let store = Arc::new(InMemoryChatStore::new());
    let uow = Arc::new(ScriptedUnitOfWork { inner: store.clone(), script: Mutex::new(Script::Pass) });
    let mut repos = Repositories::from_store(store);
    repos.uow = uow.clone();
    (app_over(repos, |b| b.rate_limiter(Arc::new(UnlimitedRateLimiter))), uow)
}

#[tokio::test]
async fn a_storage_failure_is_internal_and_announces_nothing() {
    let (app, uow) = scripted();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    *uow.script.lock().unwrap() = Script::Fail;
    let error = app.try_send(&alice, &bob, "lost?").await.unwrap_err();
    assert_eq!((error.code(), error.status()), ("chat.internal", 500));
    assert!(app.sender.events().is_empty());
    *uow.script.lock().unwrap() = Script::Pass;
    assert_eq!(app.send(&alice, &bob, "found").await.seq, 1, "nothing of the failed unit remains");
}

#[tokio::test]
async fn a_concurrent_duplicate_returns_the_original_message() {
    let (app, uow) = scripted();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    *uow.script.lock().unwrap() = Script::CommitThenConflict;
    let input = SendMessageInput {
        target_user_id: Some(bob.user.as_uuid()),
        text: "race".into(),
        client_message_id: Some("same-key".into()),
        ..Default::default()
    };
    let winner = app.chat.conversations().send_message(&alice, input.clone()).await.unwrap();
    assert_eq!((winner.seq, winner.client_message_id.as_deref()), (1, Some("same-key")));
    let again = app.chat.conversations().send_message(&alice, input).await.unwrap();
    assert_eq!(again.id, winner.id);
}

#[tokio::test]
async fn refused_units_of_work_announce_nothing() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let admin = app.user("admin").await.as_tenant_admin();
    let m = app.send(&alice, &bob, "hi").await;
    app.sender.clear();
    let position = app.chat.sync().get_position(&bob).await.unwrap();
    let ghost_member =
        CreateGroupInput { name: "g".into(), member_ids: vec![uuid::Uuid::new_v4()], ..Default::default() };
    assert_eq!(code(app.chat.groups().create_group(&alice, ghost_member).await), "chat.not_found");
    let off = UpdateTenantSettingsInput {
        deleting_conversations: Some(ConversationDeletionDto::Disabled),
        ..Default::default()
    };
    app.chat
        .settings()
        .update_settings(&admin, UpdateChatSettingsInput { tenant: Some(off), ..Default::default() })
        .await
        .unwrap();
    let id = ConversationId::from_uuid(m.conversation_id);
    assert_eq!(code(app.chat.conversations().delete_conversation(&bob, id).await), "chat.forbidden");
    assert!(app.sender.events().is_empty());
    assert_eq!(app.chat.sync().get_position(&bob).await.unwrap(), position, "nothing was recorded either");
}

#[tokio::test]
async fn a_failing_sender_never_fails_the_call_and_sync_catches_up() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.sender.set_failing(true);
    let m = app.send(&alice, &bob, "still stored").await;
    assert!(app.sender.events().is_empty());
    app.sender.set_failing(false);
    let missed = app.chat.sync().sync(&bob, SyncInput::default()).await.unwrap();
    assert_eq!(missed.events.len(), 1);
    assert_eq!(missed.events[0].data["id"], m.id.to_string());
}
