//! The writes of a unit of work, applied to the unit's own copy of the state.
//!
//! Nothing here is visible to anyone else until the store publishes the copy after the unit succeeded
//! (see `store`), which is what makes a unit all-or-nothing and its `seq` assignments gap-free.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::attachment::Attachment;
use crate::conversation::{Conversation, LastMessage, ReceiptKind};
use crate::error::RepositoryError;
use crate::event::{CommittedEvent, DomainEvent, StoredEvent};
use crate::group::ChatGroup;
use crate::ids::{AttachmentId, ConversationId, MessageId, Seq, TenantId, UserId};
use crate::message::{ClientMessageId, Emoji, Message, MessageParts, Reaction};
use crate::uow::Transaction;
use crate::user::ChatUser;

use super::state::{SEQ_MAX, State, USER_MAX, USER_MIN};

/// One unit of work in progress: a private copy of the state and the events recorded so far.
pub(super) struct MemoryTransaction {
    state: State,
    events: Vec<CommittedEvent>,
}

impl MemoryTransaction {
    /// Starts a unit on a snapshot.
    pub(super) fn new(state: State) -> Self {
        Self { state, events: Vec::new() }
    }

    /// The state to publish and the events to hand out, once the unit succeeded.
    pub(super) fn finish(self) -> (State, Vec<CommittedEvent>) {
        (self.state, self.events)
    }

    fn conflict(what: &str) -> RepositoryError {
        RepositoryError::Conflict(what.to_owned())
    }

    /// Applies `change` to every side of a conversation.
    fn each_side(&mut self, tenant: TenantId, id: ConversationId, mut change: impl FnMut(&State, &mut Conversation)) {
        for user in self.state.members(tenant, id) {
            if let Some(mut side) = self.state.side(tenant, id, user).cloned() {
                change(&self.state, &mut side);
                self.state.put_side(side);
            }
        }
    }

    fn remove_side(&mut self, tenant: TenantId, id: ConversationId, user: UserId) {
        if let Some(side) = self.state.take_side(tenant, id, user)
            && let Some(peer) = side.peer()
            && self.state.directs.get(&(tenant, user, peer)) == Some(&id)
        {
            self.state.directs.remove(&(tenant, user, peer));
        }
    }

    fn remove_message(&mut self, tenant: TenantId, id: MessageId) {
        let Some(message) = self.state.messages.remove(&(tenant, id)) else { return };
        if let Some(key) = message.client_message_id() {
            self.state.client_ids.remove(&(tenant, message.sender(), key.clone()));
        }
        let hidden: Vec<_> =
            self.state.hidden.range((tenant, id, USER_MIN)..=(tenant, id, USER_MAX)).cloned().collect();
        for mark in hidden {
            self.state.hidden.remove(&mark);
        }
        self.state.reactions.remove(&(tenant, id));
    }
}

#[async_trait]
impl Transaction for MemoryTransaction {
    async fn user(&mut self, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError> {
        Ok(self.state.users.get(&(tenant, id)).cloned())
    }

    async fn users(&mut self, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError> {
        Ok(self.state.users_in(tenant, ids))
    }

    async fn save_user(&mut self, user: &ChatUser) -> Result<(), RepositoryError> {
        self.state.users.insert((user.tenant(), user.id()), user.clone());
        Ok(())
    }

    async fn conversation(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        Ok(self.state.side(tenant, id, user).cloned())
    }

    async fn direct_conversation(
        &mut self,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        Ok(self.state.direct(tenant, user, peer).cloned())
    }

    async fn conversation_members(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
    ) -> Result<Vec<UserId>, RepositoryError> {
        Ok(self.state.members(tenant, id))
    }

    async fn save_conversation(&mut self, side: &Conversation) -> Result<(), RepositoryError> {
        let (tenant, id, user) = (side.tenant(), side.id(), side.user());
        if let Some(peer) = side.peer()
            && self.state.directs.get(&(tenant, user, peer)).is_some_and(|existing| *existing != id)
        {
            return Err(Self::conflict("a direct conversation between these users already exists"));
        }
        let replaced_peer = self.state.side(tenant, id, user).and_then(Conversation::peer);
        if let Some(old_peer) = replaced_peer
            && Some(old_peer) != side.peer()
            && self.state.directs.get(&(tenant, user, old_peer)) == Some(&id)
        {
            self.state.directs.remove(&(tenant, user, old_peer));
        }
        if let Some(peer) = side.peer() {
            self.state.directs.insert((tenant, user, peer), id);
        }
        self.state.put_side(side.clone());
        Ok(())
    }

    async fn delete_conversation(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<(), RepositoryError> {
        self.remove_side(tenant, id, user);
        Ok(())
    }

    async fn record_message_on_sides(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        message: &LastMessage,
    ) -> Result<(), RepositoryError> {
        self.each_side(tenant, id, |_, side| side.record_message(message));
        Ok(())
    }

    async fn forget_message_on_sides(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        seq: Seq,
        sender: UserId,
    ) -> Result<(), RepositoryError> {
        // A member who already deleted the message for themselves stopped counting it then.
        let message = self.state.by_seq.get(&(tenant, id, seq)).copied();
        self.each_side(tenant, id, |state, side| {
            let hidden = message.is_some_and(|m| state.is_hidden(tenant, m, side.user()));
            if !hidden {
                side.forget_message(seq, sender);
            }
        });
        Ok(())
    }

    async fn record_receipt(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
        kind: ReceiptKind,
        up_to: Seq,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let key = (tenant, id, user);
        let mut log = self.state.receipts.get(&key).cloned().unwrap_or_default();
        log.record(kind, up_to, at);
        self.state.receipts.insert(key, log);
        Ok(())
    }

    async fn purge_conversation(&mut self, tenant: TenantId, id: ConversationId) -> Result<(), RepositoryError> {
        for user in self.state.members(tenant, id) {
            self.remove_side(tenant, id, user);
        }
        self.state.groups.remove(&(tenant, id));
        let positions: Vec<(Seq, MessageId)> =
            self.state.messages_between(tenant, id, Seq::ZERO, SEQ_MAX).map(|m| (m.seq(), m.id())).collect();
        for (seq, message) in positions {
            self.remove_message(tenant, message);
            self.state.by_seq.remove(&(tenant, id, seq));
        }
        let logs: Vec<_> =
            self.state.receipts.range((tenant, id, USER_MIN)..=(tenant, id, USER_MAX)).map(|(key, _)| *key).collect();
        for key in logs {
            self.state.receipts.remove(&key);
        }
        self.state.counters.remove(&(tenant, id));
        Ok(())
    }

    async fn group(&mut self, tenant: TenantId, id: ConversationId) -> Result<Option<ChatGroup>, RepositoryError> {
        Ok(self.state.groups.get(&(tenant, id)).cloned())
    }

    async fn save_group(&mut self, group: &ChatGroup) -> Result<(), RepositoryError> {
        self.state.groups.insert((group.tenant(), group.id()), group.clone());
        Ok(())
    }

    async fn message(&mut self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError> {
        Ok(self.state.message(tenant, id).cloned())
    }

    async fn message_by_client_id(
        &mut self,
        tenant: TenantId,
        sender: UserId,
        client_message_id: &ClientMessageId,
    ) -> Result<Option<Message>, RepositoryError> {
        Ok(self.state.message_by_client_id(tenant, sender, client_message_id).cloned())
    }

    async fn last_seq(&mut self, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError> {
        Ok(self.state.last_seq(tenant, id))
    }

    async fn next_seq(&mut self, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError> {
        let next = self.state.last_seq(tenant, id).next();
        self.state.counters.insert((tenant, id), next);
        Ok(next)
    }

    async fn insert_message(&mut self, message: &Message) -> Result<(), RepositoryError> {
        let tenant = message.tenant();
        if self.state.messages.contains_key(&(tenant, message.id())) {
            return Err(Self::conflict("a message with this id already exists"));
        }
        let position = (tenant, message.conversation(), message.seq());
        if self.state.by_seq.contains_key(&position) {
            return Err(Self::conflict("a message already holds this position"));
        }
        if let Some(key) = message.client_message_id() {
            let key = (tenant, message.sender(), key.clone());
            if self.state.client_ids.contains_key(&key) {
                return Err(Self::conflict("this client message id was already used by the sender"));
            }
            self.state.client_ids.insert(key, message.id());
        }
        self.state.by_seq.insert(position, message.id());
        self.state.messages.insert((tenant, message.id()), message.clone());
        Ok(())
    }

    async fn update_message(&mut self, message: &Message) -> Result<(), RepositoryError> {
        let key = (message.tenant(), message.id());
        let Some(stored) = self.state.messages.get(&key) else { return Ok(()) };
        let changed = message.to_parts();
        let parts = MessageParts {
            text: changed.text,
            attachments: changed.attachments,
            edited_at: changed.edited_at,
            deleted_at: changed.deleted_at,
            ..stored.to_parts()
        };
        self.state.messages.insert(key, Message::from_parts(parts));
        Ok(())
    }

    async fn hide_message(&mut self, tenant: TenantId, user: UserId, id: MessageId) -> Result<bool, RepositoryError> {
        if self.state.message(tenant, id).is_none() {
            return Ok(false);
        }
        Ok(self.state.hidden.insert((tenant, id, user)).is_none())
    }

    async fn is_hidden(&mut self, tenant: TenantId, user: UserId, id: MessageId) -> Result<bool, RepositoryError> {
        Ok(self.state.hidden.contains(&(tenant, id, user)))
    }

    async fn count_unread_after(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
        after: Seq,
    ) -> Result<i64, RepositoryError> {
        Ok(self.state.count_unread_after(tenant, id, user, after))
    }

    async fn add_reaction(&mut self, reaction: &Reaction) -> Result<bool, RepositoryError> {
        let key = (reaction.tenant, reaction.message);
        let mut reactions = self.state.reactions.get(&key).cloned().unwrap_or_default();
        let added = reactions.insert((reaction.user, reaction.emoji.clone()), reaction.clone()).is_none();
        if !added {
            return Ok(false);
        }
        self.state.reactions.insert(key, reactions);
        Ok(true)
    }

    async fn remove_reaction(
        &mut self,
        tenant: TenantId,
        message: MessageId,
        user: UserId,
        emoji: &Emoji,
    ) -> Result<bool, RepositoryError> {
        let key = (tenant, message);
        let Some(mut reactions) = self.state.reactions.get(&key).cloned() else { return Ok(false) };
        if reactions.remove(&(user, emoji.clone())).is_none() {
            return Ok(false);
        }
        if reactions.is_empty() {
            self.state.reactions.remove(&key);
        } else {
            self.state.reactions.insert(key, reactions);
        }
        Ok(true)
    }

    async fn attachment(&mut self, tenant: TenantId, id: AttachmentId) -> Result<Option<Attachment>, RepositoryError> {
        Ok(self.state.attachments.get(&(tenant, id)).cloned())
    }

    async fn save_attachment(&mut self, attachment: &Attachment) -> Result<(), RepositoryError> {
        let parts = attachment.parts();
        self.state.attachments.insert((parts.tenant, parts.id), attachment.clone());
        Ok(())
    }

    async fn record_event(
        &mut self,
        tenant: TenantId,
        recipients: &[UserId],
        event: DomainEvent,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let event = Arc::new(event);
        let mut positions = Vec::with_capacity(recipients.len());
        let mut seen = HashSet::with_capacity(recipients.len());
        for &user in recipients {
            if !seen.insert(user) {
                continue;
            }
            let mut window = self.state.window(tenant, user);
            window.latest = window.latest.next();
            self.state.streams.insert((tenant, user), window);
            let stored = StoredEvent { tenant, user, seq: window.latest, event: event.clone(), at };
            self.state.events.insert((tenant, user, window.latest), stored);
            positions.push((user, window.latest));
        }
        self.events.push(CommittedEvent { tenant, event, recipients: positions, at });
        Ok(())
    }
}
