//! What every service shares: ports, clock, limiter, options, the domain service, and the commit-then-deliver
//! step.

use std::sync::Arc;

use chat_domain::clock::Clock;
use chat_domain::event::CommittedEvent;
use chat_domain::message::Reaction;
use chat_domain::messaging::MessagingManager;
use chat_domain::settings::TenantSettings;
use chat_domain::uow::{BoxFuture, Committed, DeliveryTurn, Transaction};
use chat_domain::{DomainError, Repositories, TenantId, WorkError};
use chrono::{DateTime, Utc};

use crate::caller::CallerContext;
use crate::error::{AppError, FieldError};
use crate::options::ChatOptions;
use crate::rate_limit::{RateLimitKind, RateLimiter};
use crate::realtime::{RealTimeChatMessageSender, RealtimeEvent, realtime_event_with};
use crate::tenant_settings::TenantSettingsCache;
use crate::users::UserDirectory;

/// The shared state behind every service (one per module).
pub(crate) struct Core {
    pub repos: Repositories,
    pub sender: Arc<dyn RealTimeChatMessageSender>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<dyn RateLimiter>,
    pub options: ChatOptions,
    pub manager: MessagingManager,
    pub directory: Arc<dyn UserDirectory>,
    pub settings_cache: TenantSettingsCache,
}

impl Core {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Takes one call of `kind` from the caller's budget, or refuses with `chat.rate_limited`.
    pub fn admit(&self, caller: &CallerContext, kind: RateLimitKind) -> Result<(), AppError> {
        self.limiter.admit(caller.tenant, caller.user, kind)
    }

    /// The tenant's settings as the services act on them: a copy at most
    /// [`ChatOptions::tenant_settings_ttl`] old (see `tenant_settings`).
    pub async fn tenant_settings(&self, tenant: TenantId) -> Result<TenantSettings, AppError> {
        Ok(self.settings_cache.get(self.repos.settings.as_ref(), tenant, self.now()).await?)
    }

    /// Runs a unit of work; returns its value and events without delivering them.
    pub async fn transact<T, F>(&self, body: F) -> Result<Committed<T>, WorkError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut dyn Transaction) -> BoxFuture<'t, Result<T, WorkError>> + Send + 'static,
    {
        self.repos.uow.transact(body).await
    }

    /// Runs a unit of work and, once it has committed, delivers its events.
    pub async fn commit<T, F>(&self, body: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut dyn Transaction) -> BoxFuture<'t, Result<T, WorkError>> + Send + 'static,
    {
        let Committed { value, events, turn } = self.transact(body).await?;
        self.deliver(&events, &[], turn).await;
        Ok(value)
    }

    /// Hands committed events to the sender, in commit order: after the events of every unit committed
    /// before (`turn`, passed on when this returns). A failure is logged, never returned: the change is
    /// committed and clients catch up with `sync`.
    pub async fn deliver(&self, events: &[CommittedEvent], reactions: &[Reaction], turn: DeliveryTurn) {
        if events.is_empty() {
            return;
        }
        let events: Vec<RealtimeEvent> = events.iter().map(|e| realtime_event_with(e, reactions)).collect();
        turn.previous_passed().await;
        self.deliver_realtime(&events).await;
    }

    pub async fn deliver_realtime(&self, events: &[RealtimeEvent]) {
        if let Err(error) = self.sender.deliver(events).await {
            tracing::warn!(%error, count = events.len(), "real-time delivery failed; clients will catch up");
        }
    }
}

/// Collects every invalid field of an input before refusing it, so clients learn all problems at once.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    /// Keeps a parsed value, or records why it is invalid.
    pub fn take<T>(&mut self, parsed: Result<T, DomainError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                let message = error.to_string();
                match AppError::from(error) {
                    AppError::Validation { errors } => self.errors.extend(errors),
                    _ => self.errors.push(FieldError::new("input", message)),
                }
                None
            }
        }
    }

    /// Records an invalid field.
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `Ok` when nothing was invalid.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Validation { errors: self.errors }) }
    }
}
