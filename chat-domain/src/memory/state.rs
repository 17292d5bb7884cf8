//! The whole store as one persistent value.
//!
//! Every map is an `imbl` persistent map, so cloning the state is O(1) and shares structure: a unit of work
//! changes its own copy and publishes it on success, and a reader takes a consistent snapshot without
//! holding any lock while it reads. Every key starts with the tenant, so no lookup can cross tenants.

use chrono::{DateTime, Utc};
use imbl::{OrdMap, OrdSet, Vector};
use uuid::Uuid;

use crate::attachment::Attachment;
use crate::conversation::{Conversation, ReceiptKind};
use crate::event::{EventWindow, StoredEvent};
use crate::group::ChatGroup;
use crate::ids::{AttachmentId, ConversationId, EventSeq, MessageId, Seq, TenantId, UserId};
use crate::message::{ClientMessageId, Emoji, Message, Reaction};
use crate::settings::{TenantSettings, UserSettings};
use crate::user::ChatUser;

/// The lowest and highest user ids, to scan every user under a key prefix.
pub(super) const USER_MIN: UserId = UserId::from_uuid(Uuid::nil());
pub(super) const USER_MAX: UserId = UserId::from_uuid(Uuid::max());
/// The lowest and highest conversation ids, for prefix scans.
pub(super) const CONVERSATION_MIN: ConversationId = ConversationId::from_uuid(Uuid::nil());
pub(super) const CONVERSATION_MAX: ConversationId = ConversationId::from_uuid(Uuid::max());
/// The highest positions, for open-ended scans.
pub(super) const SEQ_MAX: Seq = Seq::new(i64::MAX);
pub(super) const EVENT_SEQ_MAX: EventSeq = EventSeq::new(i64::MAX);

/// One member's receipt log: every time a watermark moved, in the order it was recorded.
#[derive(Debug, Clone, Default)]
pub(super) struct ReceiptLog {
    pub(super) delivered: Vector<(Seq, DateTime<Utc>)>,
    pub(super) read: Vector<(Seq, DateTime<Utc>)>,
}

impl ReceiptLog {
    /// Appends one movement of a watermark.
    pub(super) fn record(&mut self, kind: ReceiptKind, up_to: Seq, at: DateTime<Utc>) {
        match kind {
            ReceiptKind::Delivered => self.delivered.push_back((up_to, at)),
            ReceiptKind::Read => self.read.push_back((up_to, at)),
        }
    }

    /// When the read watermark first reached `seq`.
    pub(super) fn read_at(&self, seq: Seq) -> Option<DateTime<Utc>> {
        first_reaching(self.read.iter(), seq)
    }

    /// When the delivered watermark first reached `seq`. Reading implies receiving, so a read that reached it
    /// first counts too.
    pub(super) fn delivered_at(&self, seq: Seq) -> Option<DateTime<Utc>> {
        first_reaching(self.delivered.iter().chain(self.read.iter()), seq)
    }
}

fn first_reaching<'a>(log: impl Iterator<Item = &'a (Seq, DateTime<Utc>)>, seq: Seq) -> Option<DateTime<Utc>> {
    log.filter(|(up_to, _)| *up_to >= seq).map(|(_, at)| *at).min()
}

/// Every table of the store. Cloning it is cheap (see the module docs).
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    pub(super) users: OrdMap<(TenantId, UserId), ChatUser>,
    /// Conversation sides by conversation, then member.
    pub(super) sides: OrdMap<(TenantId, ConversationId, UserId), Conversation>,
    /// The same sides by member, for conversation lists and totals.
    pub(super) sides_by_user: OrdSet<(TenantId, UserId, ConversationId)>,
    /// Direct conversations by (user, peer): the uniqueness rule of direct conversations.
    pub(super) directs: OrdMap<(TenantId, UserId, UserId), ConversationId>,
    pub(super) groups: OrdMap<(TenantId, ConversationId), ChatGroup>,
    pub(super) messages: OrdMap<(TenantId, MessageId), Message>,
    /// Messages by position in their conversation.
    pub(super) by_seq: OrdMap<(TenantId, ConversationId, Seq), MessageId>,
    /// Idempotency keys: the uniqueness rule of (tenant, sender, client message id).
    pub(super) client_ids: OrdMap<(TenantId, UserId, ClientMessageId), MessageId>,
    /// Each conversation's sequence counter.
    pub(super) counters: OrdMap<(TenantId, ConversationId), Seq>,
    /// "Deleted for me" marks, by message then member.
    pub(super) hidden: OrdSet<(TenantId, MessageId, UserId)>,
    pub(super) reactions: OrdMap<(TenantId, MessageId), OrdMap<(UserId, Emoji), Reaction>>,
    pub(super) receipts: OrdMap<(TenantId, ConversationId, UserId), ReceiptLog>,
    pub(super) attachments: OrdMap<(TenantId, AttachmentId), Attachment>,
    pub(super) tenant_settings: OrdMap<TenantId, TenantSettings>,
    pub(super) user_settings: OrdMap<(TenantId, UserId), UserSettings>,
    /// Every user's event stream.
    pub(super) events: OrdMap<(TenantId, UserId, EventSeq), StoredEvent>,
    /// Where each user's stream stands (latest position, how far it was pruned).
    pub(super) streams: OrdMap<(TenantId, UserId), EventWindow>,
    /// Each user's unread total: the sum of their sides' unread counts, kept up to date by
    /// [`State::put_side`] and [`State::take_side`] (the only writers of `sides`), so reading it is O(1).
    pub(super) unread_totals: OrdMap<(TenantId, UserId), i64>,
}

impl State {
    /// Inserts or replaces one side, keeping the member's unread total and the by-user index in step.
    pub(super) fn put_side(&mut self, side: Conversation) {
        let (tenant, id, user) = (side.tenant(), side.id(), side.user());
        let delta = side.unread_count();
        let old = self.sides.insert((tenant, id, user), side).map_or(0, |old| old.unread_count());
        self.sides_by_user.insert((tenant, user, id));
        self.add_unread(tenant, user, delta - old);
    }

    /// Removes one side, keeping the member's unread total and the by-user index in step.
    pub(super) fn take_side(&mut self, tenant: TenantId, id: ConversationId, user: UserId) -> Option<Conversation> {
        let side = self.sides.remove(&(tenant, id, user))?;
        self.sides_by_user.remove(&(tenant, user, id));
        self.add_unread(tenant, user, -side.unread_count());
        Some(side)
    }

    fn add_unread(&mut self, tenant: TenantId, user: UserId, delta: i64) {
        if delta != 0 {
            *self.unread_totals.entry((tenant, user)).or_insert(0) += delta;
        }
    }

    /// One member's side.
    pub(super) fn side(&self, tenant: TenantId, id: ConversationId, user: UserId) -> Option<&Conversation> {
        self.sides.get(&(tenant, id, user))
    }

    /// Every side of a conversation, ordered by member id.
    pub(super) fn sides_of(&self, tenant: TenantId, id: ConversationId) -> impl Iterator<Item = &Conversation> {
        self.sides.range((tenant, id, USER_MIN)..=(tenant, id, USER_MAX)).map(|(_, side)| side)
    }

    /// Every side a user has, in conversation id order.
    pub(super) fn sides_of_user(&self, tenant: TenantId, user: UserId) -> impl Iterator<Item = &Conversation> {
        self.sides_by_user
            .range((tenant, user, CONVERSATION_MIN)..=(tenant, user, CONVERSATION_MAX))
            .filter_map(move |(_, _, id)| self.side(tenant, *id, user))
    }

    /// The members of a conversation, ordered by id.
    pub(super) fn members(&self, tenant: TenantId, id: ConversationId) -> Vec<UserId> {
        self.sides_of(tenant, id).map(Conversation::user).collect()
    }

    /// A user's side of the direct conversation with `peer`.
    pub(super) fn direct(&self, tenant: TenantId, user: UserId, peer: UserId) -> Option<&Conversation> {
        let id = self.directs.get(&(tenant, user, peer))?;
        self.side(tenant, *id, user)
    }

    /// One message.
    pub(super) fn message(&self, tenant: TenantId, id: MessageId) -> Option<&Message> {
        self.messages.get(&(tenant, id))
    }

    /// Several messages, in the order asked, without the missing ones.
    pub(super) fn messages_in(&self, tenant: TenantId, ids: &[MessageId]) -> Vec<Message> {
        let mut seen = OrdSet::new();
        ids.iter()
            .filter(|id| seen.insert(**id).is_none())
            .filter_map(|id| self.message(tenant, *id).cloned())
            .collect()
    }

    /// The message a sender stored under an idempotency key.
    pub(super) fn message_by_client_id(
        &self,
        tenant: TenantId,
        sender: UserId,
        key: &ClientMessageId,
    ) -> Option<&Message> {
        let id = self.client_ids.get(&(tenant, sender, key.clone()))?;
        self.message(tenant, *id)
    }

    /// A conversation's messages with a position in `(after, before)`, oldest first.
    pub(super) fn messages_between(
        &self,
        tenant: TenantId,
        id: ConversationId,
        after: Seq,
        before: Seq,
    ) -> impl DoubleEndedIterator<Item = &Message> {
        let range = if after >= before { None } else { Some((tenant, id, after.next())..(tenant, id, before)) };
        range
            .into_iter()
            .flat_map(move |range| self.by_seq.range(range))
            .filter_map(move |(_, message)| self.message(tenant, *message))
    }

    /// The highest position assigned in a conversation.
    pub(super) fn last_seq(&self, tenant: TenantId, id: ConversationId) -> Seq {
        self.counters.get(&(tenant, id)).copied().unwrap_or(Seq::ZERO)
    }

    /// Whether `user` deleted the message for themselves.
    pub(super) fn is_hidden(&self, tenant: TenantId, message: MessageId, user: UserId) -> bool {
        self.hidden.contains(&(tenant, message, user))
    }

    /// Several users, in the order asked, without the missing ones.
    pub(super) fn users_in(&self, tenant: TenantId, ids: &[UserId]) -> Vec<ChatUser> {
        let mut seen = OrdSet::new();
        ids.iter()
            .filter(|id| seen.insert(**id).is_none())
            .filter_map(|id| self.users.get(&(tenant, *id)).cloned())
            .collect()
    }

    /// How far a user's event stream stands.
    pub(super) fn window(&self, tenant: TenantId, user: UserId) -> EventWindow {
        self.streams.get(&(tenant, user)).copied().unwrap_or_default()
    }
}
