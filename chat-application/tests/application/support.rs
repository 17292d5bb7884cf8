//! The test harness: a module over a fresh in-memory store, a recording sender and a manual clock.

use std::sync::Arc;

use chat_application::dto::{CreateGroupInput, GroupDto, MessageDto, SendMessageInput};
use chat_application::realtime::RecordingChatMessageSender;
use chat_application::{AppError, CallerContext, ChatModule, ChatModuleBuilder, UnlimitedRateLimiter};
use chat_domain::clock::ManualClock;
use chat_domain::memory::InMemoryChatStore;
use chat_domain::{Repositories, TenantId, UserId};
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

pub struct App {
    pub chat: ChatModule,
    pub sender: Arc<RecordingChatMessageSender>,
    pub clock: Arc<ManualClock>,
    pub repos: Repositories,
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap()
}

/// A module without rate limits (tests of limits build their own).
pub fn app() -> App {
    app_with(|b| b.rate_limiter(Arc::new(UnlimitedRateLimiter)))
}

pub fn app_with(configure: impl FnOnce(ChatModuleBuilder) -> ChatModuleBuilder) -> App {
    let repos = Repositories::from_store(Arc::new(InMemoryChatStore::new()));
    app_over(repos, configure)
}

pub fn app_over(repos: Repositories, configure: impl FnOnce(ChatModuleBuilder) -> ChatModuleBuilder) -> App {
    let sender = Arc::new(RecordingChatMessageSender::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let builder = ChatModule::builder(repos.clone()).sender(sender.clone()).clock(clock.clone());
    App { chat: configure(builder).build(), sender, clock, repos }
}

pub fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::new_v4())
}

impl App {
    /// Moves time on by one second (so activity order is well defined).
    pub fn tick(&self) {
        self.clock.advance(chrono::Duration::seconds(1));
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        chat_domain::clock::Clock::now(self.clock.as_ref())
    }

    /// A new user of the host tenant, synced.
    pub async fn user(&self, name: &str) -> CallerContext {
        self.user_in(TenantId::HOST, name).await
    }

    /// A new user of a tenant, synced.
    pub async fn user_in(&self, tenant: TenantId, name: &str) -> CallerContext {
        let caller = CallerContext::new(tenant, UserId::from_uuid(Uuid::new_v4())).with_names(name, None, None);
        self.chat.users().sync_caller(&caller).await.unwrap();
        caller
    }

    pub async fn try_send(&self, from: &CallerContext, to: &CallerContext, text: &str) -> Result<MessageDto, AppError> {
        self.tick();
        let input =
            SendMessageInput { target_user_id: Some(to.user.as_uuid()), text: text.into(), ..Default::default() };
        self.chat.conversations().send_message(from, input).await
    }

    pub async fn send(&self, from: &CallerContext, to: &CallerContext, text: &str) -> MessageDto {
        self.try_send(from, to, text).await.unwrap()
    }

    pub async fn try_post(&self, from: &CallerContext, conversation: Uuid, text: &str) -> Result<MessageDto, AppError> {
        self.tick();
        let input = SendMessageInput { conversation_id: Some(conversation), text: text.into(), ..Default::default() };
        self.chat.conversations().send_message(from, input).await
    }

    pub async fn post(&self, from: &CallerContext, conversation: Uuid, text: &str) -> MessageDto {
        self.try_post(from, conversation, text).await.unwrap()
    }

    pub async fn group(&self, owner: &CallerContext, members: &[&CallerContext]) -> GroupDto {
        self.tick();
        let input = CreateGroupInput {
            name: "Team".into(),
            member_ids: members.iter().map(|m| m.user.as_uuid()).collect(),
            ..Default::default()
        };
        self.chat.groups().create_group(owner, input).await.unwrap()
    }
}

/// The error's stable code.
pub fn code<T: std::fmt::Debug>(result: Result<T, AppError>) -> &'static str {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.code(),
    }
}

/// The first invalid field of a validation error.
pub fn field<T: std::fmt::Debug>(result: Result<T, AppError>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => {
            assert_eq!(error.code(), "chat.validation", "{error}");
            error.field_errors()[0].field.clone()
        }
    }
}
