//! Presence (SPEC §6 `presence`): who of the caller's contacts is connected, announced as they come and
//! go.
//!
//! Hosts report each socket's opening and closing ([`PresenceAppService::connected`],
//! [`PresenceAppService::disconnected`]); the [`PresenceTracker`] turns those into transitions, and each
//! transition becomes an ephemeral `presence { userId, online, lastSeenAt? }` event (never stored, no
//! `eventSeq`) for the user's *contacts*: the people they share a conversation with, direct peers and
//! group co-members alike.
//!
//! Fan-out is bounded: contacts are gathered from the user's [`MAX_PRESENCE_CONVERSATIONS`] most recently
//! active conversations, direct peers first, then group co-members in order of the group's activity, up
//! to [`MAX_PRESENCE_AUDIENCE`] people. Someone past the cap does not receive the user's presence and
//! cannot read it (they can still talk to them).
//!
//! A user whose node died closes nothing; a shared tracker lets their connections expire, and
//! [`PresenceAppService::sweep_expired`], run periodically by every node, announces them offline the same
//! way, once.
//!
//! Ordering: the transitions of one user are announced one at a time, and each announcement reads the
//! tracker's *current* state rather than the transition that triggered it. A user who disconnects and
//! reconnects quickly may therefore be announced offline then online, or only online, but never ends
//! announced offline while connected.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chat_domain::conversation::{ConversationKind, ConversationListQuery};
use chat_domain::group::GroupMemberPageQuery;
use chat_domain::{ConversationId, TenantId, UserId};
use uuid::Uuid;

use crate::caller::CallerContext;
use crate::core::Core;
use crate::dto::PresenceDto;
use crate::error::AppError;
use crate::presence::{ConnectionId, PresenceChange, PresenceStatus, PresenceTracker};
use crate::rate_limit::RateLimitKind;
use crate::realtime::RealtimeEvent;

/// Most people a presence change is announced to (and who may read a user's presence).
pub const MAX_PRESENCE_AUDIENCE: usize = 1_000;
/// Most recently active conversations of a user searched for their contacts.
pub const MAX_PRESENCE_CONVERSATIONS: usize = 500;
/// Rows read per repository round while gathering contacts.
const SCAN_BATCH: usize = 100;

/// Presence of users to their contacts: hosts call it on socket connect and disconnect; clients read it.
#[derive(Clone)]
pub struct PresenceAppService {
    core: Arc<Core>,
    tracker: Arc<dyn PresenceTracker>,
    turns: Arc<Turns>,
}

impl std::fmt::Debug for PresenceAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceAppService").finish_non_exhaustive()
    }
}

fn presence_dto(status: &PresenceStatus) -> PresenceDto {
    PresenceDto { user_id: status.user.as_uuid(), online: status.online, last_seen_at: status.last_seen_at }
}

impl PresenceAppService {
    pub(crate) fn new(core: Arc<Core>, tracker: Arc<dyn PresenceTracker>) -> Self {
        Self { core, tracker, turns: Arc::new(Turns::default()) }
    }

    /// Records that a connection (socket) of the caller opened. If it is their first, their contacts
    /// receive `presence { online: true }`. Returns the presence of the caller's contacts who are online
    /// now (for the host to hand to the new connection, e.g. in `ready`).
    ///
    /// Hosts must call [`disconnected`](Self::disconnected) with the same `connection` when it closes,
    /// also when this call failed or raced with the close (closing is idempotent).
    pub async fn connected(
        &self,
        caller: &CallerContext,
        connection: &ConnectionId,
    ) -> Result<Vec<PresenceDto>, AppError> {
        let change = self.tracker.connect(caller.tenant, caller.user, connection, self.core.now()).await?;
        let contacts = self.contacts(caller.tenant, caller.user).await?;
        if change != PresenceChange::Unchanged {
            self.announce(caller.tenant, caller.user, &contacts).await;
        }
        let statuses = self.tracker.statuses(caller.tenant, &contacts).await?;
        Ok(statuses.iter().filter(|s| s.online).map(presence_dto).collect())
    }

    /// Records that a connection (socket) of the caller closed. If it was their last, their contacts
    /// receive `presence { online: false, lastSeenAt }`. Closing an unknown or already closed connection
    /// does nothing.
    pub async fn disconnected(&self, caller: &CallerContext, connection: &ConnectionId) -> Result<(), AppError> {
        let change = self.tracker.disconnect(caller.tenant, caller.user, connection, self.core.now()).await?;
        if change == PresenceChange::Unchanged {
            return Ok(());
        }
        let contacts = self.contacts(caller.tenant, caller.user).await?;
        self.announce(caller.tenant, caller.user, &contacts).await;
        Ok(())
    }

    /// Announces the users whose connections expired without being closed (their node died): their
    /// contacts receive `presence { online: false, lastSeenAt }`, as after a last close. Hosts call it every
    /// [`sweep_interval`](Self::sweep_interval) on every node; the tracker hands each such user to one
    /// call only. Returns how many users went offline.
    pub async fn sweep_expired(&self) -> Result<usize, AppError> {
        let expired = self.tracker.sweep_expired().await?;
        for gone in &expired {
            match self.contacts(gone.tenant, gone.user).await {
                Ok(contacts) => self.announce(gone.tenant, gone.user, &contacts).await,
                Err(error) => tracing::warn!(%error, "could not announce an expired user offline"),
            }
        }
        Ok(expired.len())
    }

    /// How often hosts should call [`sweep_expired`](Self::sweep_expired); `None` when the tracker's
    /// connections cannot expire (one node), so no sweep is needed.
    pub fn sweep_interval(&self) -> Option<std::time::Duration> {
        self.tracker.sweep_interval()
    }

    /// The presence of one user: the caller themselves or one of their contacts. Anyone else, including
    /// a user of another tenant, is answered `chat.not_found`, as if they did not exist.
    pub async fn get_presence(&self, caller: &CallerContext, user_id: Uuid) -> Result<PresenceDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let user = UserId::from_uuid(user_id);
        if user != caller.user && !self.contacts(caller.tenant, caller.user).await?.contains(&user) {
            return Err(AppError::NotFound { resource: "user" });
        }
        let statuses = self.tracker.statuses(caller.tenant, &[user]).await?;
        statuses.first().map(presence_dto).ok_or(AppError::NotFound { resource: "user" })
    }

    /// The presence of every contact of the caller (online or not), at most [`MAX_PRESENCE_AUDIENCE`].
    pub async fn get_contacts_presence(&self, caller: &CallerContext) -> Result<Vec<PresenceDto>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let contacts = self.contacts(caller.tenant, caller.user).await?;
        let statuses = self.tracker.statuses(caller.tenant, &contacts).await?;
        Ok(statuses.iter().map(presence_dto).collect())
    }

    /// The people `user` shares a conversation with (see the module docs for the bounds), without
    /// `user`, each once.
    async fn contacts(&self, tenant: TenantId, user: UserId) -> Result<Vec<UserId>, AppError> {
        let repos = &self.core.repos;
        let mut seen: HashSet<UserId> = HashSet::from([user]);
        let mut contacts: Vec<UserId> = Vec::new();
        let mut groups: Vec<ConversationId> = Vec::new();
        let mut before = None;
        let mut scanned = 0;
        while scanned < MAX_PRESENCE_CONVERSATIONS {
            let limit = SCAN_BATCH.min(MAX_PRESENCE_CONVERSATIONS - scanned);
            let query = ConversationListQuery { tenant, user, include_archived: true, before, limit };
            let sides = repos.conversations.list(&query).await?;
            scanned += sides.len();
            before = sides.last().map(|s| (s.last_activity_at(), s.id()));
            for side in &sides {
                match side.kind() {
                    ConversationKind::Direct { peer } => {
                        if contacts.len() < MAX_PRESENCE_AUDIENCE && seen.insert(peer) {
                            contacts.push(peer);
                        }
                    }
                    ConversationKind::Group => groups.push(side.id()),
                }
            }
            if sides.len() < limit {
                break;
            }
        }
        for group in groups {
            let mut after = None;
            while contacts.len() < MAX_PRESENCE_AUDIENCE {
                let query = GroupMemberPageQuery { tenant, group, after, limit: SCAN_BATCH };
                let members = repos.groups.members(&query).await?;
                after = members.last().map(|m| m.user);
                for member in &members {
                    if contacts.len() < MAX_PRESENCE_AUDIENCE && seen.insert(member.user) {
                        contacts.push(member.user);
                    }
                }
                if members.len() < SCAN_BATCH {
                    break;
                }
            }
            if contacts.len() >= MAX_PRESENCE_AUDIENCE {
                break;
            }
        }
        Ok(contacts)
    }

    /// Announces `user`'s current presence to `contacts`, one announcement per user at a time: if another
    /// call is announcing for the same user, it is asked to read the state once more instead, so the last
    /// announcement always carries the last state.
    async fn announce(&self, tenant: TenantId, user: UserId, contacts: &[UserId]) {
        let key = (tenant, user);
        if !self.turns.take(key) {
            return;
        }
        let mut turn = TurnGuard { turns: &self.turns, key, ended: false };
        let mut announced: Option<bool> = None;
        loop {
            match self.tracker.statuses(tenant, &[user]).await {
                Ok(statuses) => {
                    if let Some(status) = statuses.first()
                        && announced != Some(status.online)
                    {
                        announced = Some(status.online);
                        if !contacts.is_empty() {
                            let event = presence_event(tenant, status, contacts);
                            self.core.deliver_realtime(&[event]).await;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "could not read presence to announce it"),
            }
            if !self.turns.again(key) {
                turn.ended = true;
                return;
            }
        }
    }
}

/// The ephemeral `presence` event.
fn presence_event(tenant: TenantId, status: &PresenceStatus, contacts: &[UserId]) -> RealtimeEvent {
    let data = serde_json::to_value(presence_dto(status)).unwrap_or_else(|error| {
        tracing::error!(%error, "a presence payload could not be serialized");
        serde_json::Value::Null
    });
    RealtimeEvent::ephemeral(tenant, "presence", data, contacts.iter().copied())
}

/// Which users are being announced right now, and whether their state changed again meanwhile.
#[derive(Default)]
struct Turns {
    users: Mutex<HashMap<(TenantId, UserId), bool>>,
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, UserId), bool>> {
        // Every critical section leaves the map consistent, so a poisoned lock is still usable.
        self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the user's turn to announce (`true`), or, when someone holds it, asks them for one more
    /// round (`false`).
    fn take(&self, key: (TenantId, UserId)) -> bool {
        let mut users = self.lock();
        match users.get_mut(&key) {
            Some(changed) => {
                *changed = true;
                false
            }
            None => {
                users.insert(key, false);
                true
            }
        }
    }

    /// At the end of a round: `true` if the state changed meanwhile (the holder keeps the turn and reads
    /// again), else the turn is released.
    fn again(&self, key: (TenantId, UserId)) -> bool {
        let mut users = self.lock();
        match users.get_mut(&key) {
            Some(changed) if *changed => {
                *changed = false;
                true
            }
            _ => {
                users.remove(&key);
                false
            }
        }
    }

    fn release(&self, key: (TenantId, UserId)) {
        self.lock().remove(&key);
    }
}

/// Releases a turn whose holder was dropped mid-announcement (a cancelled task), so the user's next
/// change is announced.
struct TurnGuard<'a> {
    turns: &'a Turns,
    key: (TenantId, UserId),
    ended: bool,
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.turns.release(self.key);
        }
    }
}
