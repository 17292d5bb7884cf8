use chrono::{DateTime, Utc};

use super::commands::Actor;
use super::commands::{GroupChange, MessagingPolicy, SendMessage, SendTarget, Sent};
use crate::conversation::{Conversation, ConversationKind, LastMessage, ReceiptKind};
use crate::error::{DomainError, RepositoryError, WorkError};
use crate::event::DomainEvent;
use crate::group::{ChatGroup, GroupDetails, GroupRole, LeaveOutcome};
use crate::ids::{ConversationId, MessageId, Seq, TenantId, UserId};
use crate::message::{DeleteScope, Emoji, Message, MessageText, NewMessage, Reaction};
use crate::settings::TenantSettings;
use crate::uow::Transaction;

/// The domain service for everything that touches more than one aggregate: sending, editing, deleting,
/// receipts, reactions, and group membership. Each method runs inside a unit of work and records the events
/// members are told about; it never commits by itself.
#[derive(Debug, Clone, Default)]
pub struct MessagingManager {
    policy: MessagingPolicy,
}

impl MessagingManager {
    /// A manager with the given limits.
    pub fn new(policy: MessagingPolicy) -> Self {
        Self { policy }
    }

    /// The limits in force.
    pub fn policy(&self) -> &MessagingPolicy {
        &self.policy
    }

    /// The caller's side of a conversation; not being a member reads as [`DomainError::NotAMember`].
    pub async fn member_side(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Conversation, WorkError> {
        tx.conversation(tenant, conversation, user)
            .await?
            .ok_or(WorkError::Domain(DomainError::NotAMember { conversation, user }))
    }

    /// A message the user can see: in a conversation they belong to, after their cleared position, and not
    /// deleted by them for themselves.
    pub async fn visible_message(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        user: UserId,
        id: MessageId,
    ) -> Result<(Message, Conversation), WorkError> {
        let message = tx.message(tenant, id).await?.ok_or(DomainError::NotFound("message"))?;
        let side = tx
            .conversation(tenant, message.conversation(), user)
            .await?
            .filter(|side| message.seq() > side.cleared_seq())
            .ok_or(DomainError::NotFound("message"))?;
        if tx.is_hidden(tenant, user, id).await? {
            return Err(DomainError::NotFound("message").into());
        }
        Ok((message, side))
    }

    /// Gets or creates the direct conversation between `user` and `peer`; returns `user`'s side.
    /// The peer must be an active user of the same tenant.
    pub async fn open_direct(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
        now: DateTime<Utc>,
    ) -> Result<Conversation, WorkError> {
        if user == peer {
            return Err(DomainError::SelfConversation.into());
        }
        if let Some(side) = tx.direct_conversation(tenant, user, peer).await? {
            return Ok(side);
        }
        let peer_user = tx.user(tenant, peer).await?;
        if !peer_user.is_some_and(|u| u.is_active()) {
            return Err(DomainError::NotFound("user").into());
        }
        let id = ConversationId::new_at(now);
        let mine = Conversation::open(tenant, id, user, ConversationKind::Direct { peer }, Seq::ZERO, now);
        let theirs = Conversation::open(tenant, id, peer, ConversationKind::Direct { peer: user }, Seq::ZERO, now);
        tx.save_conversation(&mine).await?;
        tx.save_conversation(&theirs).await?;
        Ok(mine)
    }

    /// Sends a message: checks the sender may write to the target, assigns the next `seq`, stores the
    /// message, updates every member's side and records `message.created` for every member. A repeated
    /// idempotency key returns the stored message and changes nothing.
    pub async fn send(&self, tx: &mut dyn Transaction, cmd: SendMessage) -> Result<Sent, WorkError> {
        let tenant = cmd.tenant;
        if let Some(key) = &cmd.client_message_id
            && let Some(message) = tx.message_by_client_id(tenant, cmd.sender, key).await?
        {
            return Ok(Sent { message, duplicate: true });
        }
        let side = match cmd.target {
            SendTarget::User(peer) => self.open_direct(tx, tenant, cmd.sender, peer, cmd.now).await?,
            SendTarget::Conversation(id) => self.member_side(tx, tenant, id, cmd.sender).await?,
        };
        let conversation = side.id();
        if let Some(reply_to) = cmd.reply_to {
            let original = tx.message(tenant, reply_to).await?.ok_or(DomainError::NotFound("message"))?;
            if original.conversation() != conversation || original.seq() <= side.cleared_seq() {
                return Err(DomainError::ReplyOutsideConversation.into());
            }
        }
        if cmd.attachments.len() > self.policy.max_attachments {
            return Err(DomainError::InvalidText { field: "attachmentIds", max: self.policy.max_attachments }.into());
        }
        let id = MessageId::new_at(cmd.now);
        let mut attachments = Vec::with_capacity(cmd.attachments.len());
        for attachment_id in &cmd.attachments {
            let mut attachment =
                tx.attachment(tenant, *attachment_id).await?.ok_or(DomainError::NotFound("attachment"))?;
            attachment.ensure_attachable_by(cmd.sender)?;
            attachment.attach_to(id, conversation);
            tx.save_attachment(&attachment).await?;
            attachments.push(attachment.to_ref());
        }
        let seq = tx.next_seq(tenant, conversation).await?;
        let message = NewMessage {
            tenant,
            id,
            conversation,
            sender: cmd.sender,
            text: cmd.text,
            reply_to: cmd.reply_to,
            attachments,
            client_message_id: cmd.client_message_id,
            created_at: cmd.now,
        }
        .into_message(seq);
        tx.insert_message(&message).await?;
        let last = LastMessage { id, seq, sender: cmd.sender, at: cmd.now };
        tx.record_message_on_sides(tenant, conversation, &last).await?;
        let members = tx.conversation_members(tenant, conversation).await?;
        tx.record_event(tenant, &members, DomainEvent::MessageCreated { message: message.to_parts() }, cmd.now).await?;
        // Sending reads the conversation (see `Conversation::record_message`). When that moved the sender's
        // read watermark past others' messages, it is a read receipt like any other.
        if side.read_seq().next() < seq {
            let actor = Actor { tenant, user: cmd.sender, now: cmd.now };
            self.announce_receipt(tx, actor, conversation, ReceiptKind::Read, Seq::new(seq.value() - 1)).await?;
        }
        Ok(Sent { message, duplicate: false })
    }

    /// Edits the caller's own message (within the tenant's edit window) and tells every member.
    pub async fn edit(
        &self,
        tx: &mut dyn Transaction,
        actor: Actor,
        id: MessageId,
        text: MessageText,
        settings: &TenantSettings,
    ) -> Result<Message, WorkError> {
        let Actor { tenant, user: editor, now } = actor;
        let (mut message, _) = self.visible_message(tx, tenant, editor, id).await?;
        message.edit(editor, text, settings.edit_window_seconds(), now)?;
        tx.update_message(&message).await?;
        let members = tx.conversation_members(tenant, message.conversation()).await?;
        tx.record_event(tenant, &members, DomainEvent::MessageUpdated { message: message.to_parts() }, now).await?;
        Ok(message)
    }

    /// Deletes a message for the caller only, or for everyone (its sender, or a group owner/admin, within
    /// the tenant's deletion settings).
    pub async fn delete_message(
        &self,
        tx: &mut dyn Transaction,
        actor: Actor,
        id: MessageId,
        scope: DeleteScope,
        settings: &TenantSettings,
    ) -> Result<(), WorkError> {
        let Actor { tenant, user: actor, now } = actor;
        let (mut message, mut side) = self.visible_message(tx, tenant, actor, id).await?;
        let conversation = message.conversation();
        match scope {
            DeleteScope::Me => {
                if tx.hide_message(tenant, actor, id).await? {
                    side.forget_message(message.seq(), message.sender());
                    tx.save_conversation(&side).await?;
                }
                let event = DomainEvent::MessageDeleted { conversation, message: id, scope };
                tx.record_event(tenant, &[actor], event, now).await?;
            }
            DeleteScope::Everyone => {
                if message.sender() != actor {
                    let group = tx.group(tenant, conversation).await?;
                    let may_moderate = group.and_then(|g| g.role_of(actor)).is_some_and(GroupRole::can_manage);
                    if !may_moderate {
                        return Err(DomainError::NotTheAuthor { message: id, action: "delete for everyone" }.into());
                    }
                }
                settings.ensure_message_deletable(message.created_at(), now)?;
                message.erase(now)?;
                tx.update_message(&message).await?;
                tx.forget_message_on_sides(tenant, conversation, message.seq(), message.sender()).await?;
                let members = tx.conversation_members(tenant, conversation).await?;
                let event = DomainEvent::MessageDeleted { conversation, message: id, scope };
                tx.record_event(tenant, &members, event, now).await?;
            }
        }
        Ok(())
    }

    /// Moves the caller's read watermark up to a message of the conversation (default: the latest), records
    /// the receipt and tells every member. Returns the new watermark, or `None` when it did not move.
    pub async fn mark_read(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        user: UserId,
        conversation: ConversationId,
        up_to: Option<MessageId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Seq>, WorkError> {
        let mut side = self.member_side(tx, tenant, conversation, user).await?;
        let last = tx.last_seq(tenant, conversation).await?;
        let target = match up_to {
            None => last,
            Some(id) => {
                let message = tx.message(tenant, id).await?.filter(|m| m.conversation() == conversation);
                message.ok_or(DomainError::NotFound("message"))?.seq()
            }
        };
        let unread_after =
            if target >= last { 0 } else { tx.count_unread_after(tenant, conversation, user, target).await? };
        if !side.mark_read_up_to(target, unread_after, now) {
            return Ok(None);
        }
        tx.save_conversation(&side).await?;
        self.announce_receipt(tx, Actor { tenant, user, now }, conversation, ReceiptKind::Read, target).await?;
        Ok(Some(target))
    }

    /// Records that the caller's device received messages; each conversation's delivered watermark moves
    /// to the highest of them. Unknown or invisible messages are skipped. Returns the watermarks that moved.
    pub async fn mark_delivered(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        user: UserId,
        messages: &[MessageId],
        now: DateTime<Utc>,
    ) -> Result<Vec<(ConversationId, Seq)>, WorkError> {
        let mut highest: Vec<(ConversationId, Seq)> = Vec::new();
        for &id in messages {
            let Some(message) = tx.message(tenant, id).await? else { continue };
            match highest.iter_mut().find(|(c, _)| *c == message.conversation()) {
                Some((_, seq)) => *seq = (*seq).max(message.seq()),
                None => highest.push((message.conversation(), message.seq())),
            }
        }
        let mut moved = Vec::new();
        for (conversation, seq) in highest {
            let Some(mut side) = tx.conversation(tenant, conversation, user).await? else { continue };
            if side.mark_delivered_up_to(seq, now) {
                tx.save_conversation(&side).await?;
                let actor = Actor { tenant, user, now };
                self.announce_receipt(tx, actor, conversation, ReceiptKind::Delivered, seq).await?;
                moved.push((conversation, seq));
            }
        }
        Ok(moved)
    }

    async fn announce_receipt(
        &self,
        tx: &mut dyn Transaction,
        actor: Actor,
        conversation: ConversationId,
        kind: ReceiptKind,
        up_to: Seq,
    ) -> Result<(), RepositoryError> {
        let Actor { tenant, user, now: at } = actor;
        tx.record_receipt(tenant, conversation, user, kind, up_to, at).await?;
        let members = tx.conversation_members(tenant, conversation).await?;
        tx.record_event(tenant, &members, DomainEvent::Receipt { conversation, user, kind, up_to, at }, at).await
    }

    /// Adds or removes the caller's reaction (idempotent) and, when it changed, tells every member.
    /// Returns whether it changed.
    pub async fn react(
        &self,
        tx: &mut dyn Transaction,
        actor: Actor,
        id: MessageId,
        emoji: Emoji,
        add: bool,
    ) -> Result<bool, WorkError> {
        let Actor { tenant, user, now } = actor;
        let (message, _) = self.visible_message(tx, tenant, user, id).await?;
        if message.is_deleted() {
            return Err(DomainError::MessageDeleted(id).into());
        }
        let changed = if add {
            tx.add_reaction(&Reaction { tenant, message: id, user, emoji: emoji.clone(), at: now }).await?
        } else {
            tx.remove_reaction(tenant, id, user, &emoji).await?
        };
        if changed {
            let conversation = message.conversation();
            let members = tx.conversation_members(tenant, conversation).await?;
            let event = DomainEvent::Reaction { conversation, message: id, user, emoji, added: add };
            tx.record_event(tenant, &members, event, now).await?;
        }
        Ok(changed)
    }

    /// Changes the caller's own side (mute, archive) and tells the caller's other devices.
    pub async fn update_side(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        user: UserId,
        conversation: ConversationId,
        change: impl FnOnce(&mut Conversation) -> bool + Send,
        now: DateTime<Utc>,
    ) -> Result<Conversation, WorkError> {
        let mut side = self.member_side(tx, tenant, conversation, user).await?;
        if change(&mut side) {
            tx.save_conversation(&side).await?;
            tx.record_event(tenant, &[user], DomainEvent::ConversationUpdated { conversation }, now).await?;
        }
        Ok(side)
    }

    /// "Delete my side" of a conversation, if the tenant allows it.
    pub async fn delete_side(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        user: UserId,
        conversation: ConversationId,
        settings: &TenantSettings,
        now: DateTime<Utc>,
    ) -> Result<(), WorkError> {
        settings.ensure_conversation_deletable()?;
        let mut side = self.member_side(tx, tenant, conversation, user).await?;
        side.clear(now);
        tx.save_conversation(&side).await?;
        tx.record_event(tenant, &[user], DomainEvent::ConversationDeleted { conversation }, now).await?;
        Ok(())
    }

    /// Creates a group owned by `creator`. Every member must be an active user of the tenant.
    pub async fn create_group(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        creator: UserId,
        details: GroupDetails,
        members: &[UserId],
        now: DateTime<Utc>,
    ) -> Result<ChatGroup, WorkError> {
        let id = ConversationId::new_at(now);
        let group = ChatGroup::create(tenant, id, creator, details, members, self.policy.max_group_members, now)?;
        let users: Vec<UserId> = group.members().iter().map(|m| m.user).collect();
        self.ensure_active_users(tx, tenant, &users).await?;
        tx.save_group(&group).await?;
        for m in group.members() {
            let side = Conversation::open(tenant, id, m.user, ConversationKind::Group, Seq::ZERO, now);
            tx.save_conversation(&side).await?;
        }
        // Everyone is new to a new group, so each member is told once, about themselves: O(members) events,
        // not O(members²).
        for m in group.members() {
            let event = DomainEvent::GroupMemberAdded { group: id, user: m.user, role: m.role };
            tx.record_event(tenant, &[m.user], event, now).await?;
        }
        Ok(group)
    }

    async fn ensure_active_users(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        users: &[UserId],
    ) -> Result<(), WorkError> {
        let found = tx.users(tenant, users).await?;
        let all_active = users.iter().all(|u| found.iter().any(|f| f.id() == *u && f.is_active()));
        if all_active { Ok(()) } else { Err(DomainError::NotFound("user").into()) }
    }

    /// A group the actor belongs to; not being a member (or another tenant's group) reads as not found.
    pub async fn member_group(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        id: ConversationId,
        actor: UserId,
    ) -> Result<ChatGroup, WorkError> {
        let group = tx.group(tenant, id).await?.ok_or(DomainError::NotFound("group"))?;
        if group.role_of(actor).is_none() {
            return Err(DomainError::NotAMember { conversation: id, user: actor }.into());
        }
        Ok(group)
    }

    /// Applies a membership or details change by `actor`, keeps members' sides in step, and tells the
    /// members (and anyone removed). Returns the group after the change, or `None` if it was deleted
    /// because its last member left.
    pub async fn change_group(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        actor: UserId,
        id: ConversationId,
        change: GroupChange,
        now: DateTime<Utc>,
    ) -> Result<Option<ChatGroup>, WorkError> {
        let mut group = self.member_group(tx, tenant, id, actor).await?;
        let before: Vec<UserId> = group.members().iter().map(|m| m.user).collect();
        let mut events = Vec::new();
        let mut removed = None;
        match change {
            GroupChange::Update(details) => {
                group.update(actor, details, now)?;
                events.push(DomainEvent::GroupUpdated {
                    group: id,
                    details: group.details().clone(),
                    owner: group.owner(),
                });
            }
            GroupChange::AddMembers(users) => {
                let added = group.add_members(actor, &users, self.policy.max_group_members, now)?;
                self.ensure_active_users(tx, tenant, &added).await?;
                let start = tx.last_seq(tenant, id).await?;
                for &user in &added {
                    let side = Conversation::open(tenant, id, user, ConversationKind::Group, start, now);
                    tx.save_conversation(&side).await?;
                    events.push(DomainEvent::GroupMemberAdded { group: id, user, role: GroupRole::Member });
                }
            }
            GroupChange::RemoveMember(user) => {
                let outcome = group.remove_member(actor, user, now)?;
                removed = Some(user);
                events.extend(Self::leave_events(id, user, outcome));
            }
            GroupChange::Leave => {
                let outcome = group.leave(actor, now)?;
                removed = Some(actor);
                events.extend(Self::leave_events(id, actor, outcome));
            }
            GroupChange::ChangeRole(user, role) => {
                if group.change_role(actor, user, role, now)? {
                    events.push(DomainEvent::GroupMemberUpdated { group: id, user, role });
                }
            }
            GroupChange::TransferOwnership(to) => {
                group.transfer_ownership(actor, to, now)?;
                events.push(DomainEvent::GroupMemberUpdated { group: id, user: actor, role: GroupRole::Admin });
                events.push(DomainEvent::GroupMemberUpdated { group: id, user: to, role: GroupRole::Owner });
            }
        }
        if group.members().is_empty() {
            tx.purge_conversation(tenant, id).await?;
            tx.record_event(tenant, &before, DomainEvent::ConversationDeleted { conversation: id }, now).await?;
            return Ok(None);
        }
        tx.save_group(&group).await?;
        if let Some(user) = removed {
            tx.delete_conversation(tenant, id, user).await?;
        }
        let mut recipients: Vec<UserId> = group.members().iter().map(|m| m.user).collect();
        recipients.extend(removed);
        for event in events {
            tx.record_event(tenant, &recipients, event, now).await?;
        }
        Ok(Some(group))
    }

    fn leave_events(id: ConversationId, user: UserId, outcome: LeaveOutcome) -> Vec<DomainEvent> {
        let mut events = vec![DomainEvent::GroupMemberRemoved { group: id, user }];
        if let LeaveOutcome::OwnershipPassed { new_owner } = outcome {
            events.push(DomainEvent::GroupMemberUpdated { group: id, user: new_owner, role: GroupRole::Owner });
        }
        events
    }

    /// Deletes a group (owner only): every side, message and membership goes; members are told.
    pub async fn delete_group(
        &self,
        tx: &mut dyn Transaction,
        tenant: TenantId,
        actor: UserId,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(), WorkError> {
        let group = self.member_group(tx, tenant, id, actor).await?;
        group.ensure_can_delete(actor)?;
        let members: Vec<UserId> = group.members().iter().map(|m| m.user).collect();
        tx.purge_conversation(tenant, id).await?;
        tx.record_event(tenant, &members, DomainEvent::ConversationDeleted { conversation: id }, now).await?;
        Ok(())
    }
}
