use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, MessageId, Seq, TenantId, UserId};

/// Direct (two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ConversationKind {
    /// A one-to-one conversation with `peer`.
    Direct {
        /// The other person.
        peer: UserId,
    },
    /// A group conversation; the group has the conversation's id.
    Group,
}

/// The latest message of a conversation, as remembered by each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    /// Its id.
    pub id: MessageId,
    /// Its position.
    pub seq: Seq,
    /// Who sent it (the side is `Send` when that is the side's own user).
    pub sender: UserId,
    /// When it was sent.
    pub at: DateTime<Utc>,
}

/// Which receipt watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReceiptKind {
    /// The member's device received the messages.
    Delivered,
    /// The member read them.
    Read,
}

/// One member's side of a conversation: what they see in their list (last message, unread count), how far
/// they have received and read, and their own settings for it.
///
/// Invariants: `delivered_seq >= read_seq` (reading implies receiving); watermarks only move forward;
/// `unread_count` counts others' messages after `read_seq` that are neither deleted nor hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    tenant: TenantId,
    id: ConversationId,
    user: UserId,
    kind: ConversationKind,
    last_message: Option<LastMessage>,
    last_activity_at: DateTime<Utc>,
    unread_count: i64,
    read_seq: Seq,
    read_at: Option<DateTime<Utc>>,
    delivered_seq: Seq,
    delivered_at: Option<DateTime<Utc>>,
    cleared_seq: Seq,
    hidden: bool,
    muted: bool,
    archived: bool,
    created_at: DateTime<Utc>,
}

/// Every stored field of a [`Conversation`]: the one door for rehydration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ConversationParts {
    pub tenant: TenantId,
    pub id: ConversationId,
    pub user: UserId,
    pub kind: ConversationKind,
    pub last_message: Option<LastMessage>,
    pub last_activity_at: DateTime<Utc>,
    pub unread_count: i64,
    pub read_seq: Seq,
    pub read_at: Option<DateTime<Utc>>,
    pub delivered_seq: Seq,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cleared_seq: Seq,
    pub hidden: bool,
    pub muted: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
}

impl Conversation {
    /// `user`'s side of a new conversation (direct with a peer, or a group they joined), positioned at
    /// `start`: a member who joins a group later starts at the group's latest `seq`, and sees only what is
    /// sent from then on.
    pub fn open(
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
        kind: ConversationKind,
        start: Seq,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            tenant,
            id,
            user,
            kind,
            last_message: None,
            last_activity_at: now,
            unread_count: 0,
            read_seq: start,
            read_at: None,
            delivered_seq: start,
            delivered_at: None,
            cleared_seq: start,
            hidden: false,
            muted: false,
            archived: false,
            created_at: now,
        }
    }

    /// Rehydrates a stored side.
    pub fn from_parts(p: ConversationParts) -> Self {
        Self {
            tenant: p.tenant,
            id: p.id,
            user: p.user,
            kind: p.kind,
            last_message: p.last_message,
            last_activity_at: p.last_activity_at,
            unread_count: p.unread_count,
            read_seq: p.read_seq,
            read_at: p.read_at,
            delivered_seq: p.delivered_seq,
            delivered_at: p.delivered_at,
            cleared_seq: p.cleared_seq,
            hidden: p.hidden,
            muted: p.muted,
            archived: p.archived,
            created_at: p.created_at,
        }
    }

    /// All fields, for storage.
    pub fn to_parts(&self) -> ConversationParts {
        ConversationParts {
            tenant: self.tenant,
            id: self.id,
            user: self.user,
            kind: self.kind,
            last_message: self.last_message,
            last_activity_at: self.last_activity_at,
            unread_count: self.unread_count,
            read_seq: self.read_seq,
            read_at: self.read_at,
            delivered_seq: self.delivered_seq,
            delivered_at: self.delivered_at,
            cleared_seq: self.cleared_seq,
            hidden: self.hidden,
            muted: self.muted,
            archived: self.archived,
            created_at: self.created_at,
        }
    }

    /// Tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    /// The conversation.
    pub fn id(&self) -> ConversationId {
        self.id
    }
    /// Whose side this is.
    pub fn user(&self) -> UserId {
        self.user
    }
    /// Direct or group.
    pub fn kind(&self) -> ConversationKind {
        self.kind
    }
    /// The peer of a direct conversation.
    pub fn peer(&self) -> Option<UserId> {
        match self.kind {
            ConversationKind::Direct { peer } => Some(peer),
            ConversationKind::Group => None,
        }
    }
    /// Latest message.
    pub fn last_message(&self) -> Option<&LastMessage> {
        self.last_message.as_ref()
    }
    /// Latest activity (last message, or creation): the conversation list's order.
    pub fn last_activity_at(&self) -> DateTime<Utc> {
        self.last_activity_at
    }
    /// Others' messages not yet read.
    pub fn unread_count(&self) -> i64 {
        self.unread_count
    }
    /// Read watermark.
    pub fn read_seq(&self) -> Seq {
        self.read_seq
    }
    /// When the read watermark last moved.
    pub fn read_at(&self) -> Option<DateTime<Utc>> {
        self.read_at
    }
    /// Delivered watermark.
    pub fn delivered_seq(&self) -> Seq {
        self.delivered_seq
    }
    /// When the delivered watermark last moved.
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.delivered_at
    }
    /// Messages up to this position were cleared by "delete my side".
    pub fn cleared_seq(&self) -> Seq {
        self.cleared_seq
    }
    /// Whether the side is out of the member's list (deleted by them, until the next message).
    pub fn is_hidden(&self) -> bool {
        self.hidden
    }
    /// Muted.
    pub fn is_muted(&self) -> bool {
        self.muted
    }
    /// Archived.
    pub fn is_archived(&self) -> bool {
        self.archived
    }
    /// Created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Records a newly committed message on this side. Sending reads the conversation: the sender's own
    /// side moves both watermarks to the message and has nothing unread. Every other side counts one more
    /// unread. A hidden side reappears.
    pub fn record_message(&mut self, message: &LastMessage) {
        self.last_message = Some(*message);
        self.last_activity_at = message.at;
        self.hidden = false;
        if message.sender == self.user {
            self.advance_read(message.seq, message.at);
            self.unread_count = 0;
        } else {
            self.unread_count += 1;
        }
    }

    /// Moves the read watermark to `up_to` if that is forward. `unread_after` is how many of others' visible
    /// messages lie after `up_to` (zero when reading to the end). Returns whether anything moved.
    pub fn mark_read_up_to(&mut self, up_to: Seq, unread_after: i64, now: DateTime<Utc>) -> bool {
        if up_to <= self.read_seq {
            return false;
        }
        self.advance_read(up_to, now);
        self.unread_count = unread_after.max(0);
        true
    }

    fn advance_read(&mut self, up_to: Seq, now: DateTime<Utc>) {
        if up_to > self.read_seq {
            self.read_seq = up_to;
            self.read_at = Some(now);
        }
        if up_to > self.delivered_seq {
            self.delivered_seq = up_to;
            self.delivered_at = Some(now);
        }
    }

    /// Moves the delivered watermark to `up_to` if that is forward. Returns whether it moved.
    pub fn mark_delivered_up_to(&mut self, up_to: Seq, now: DateTime<Utc>) -> bool {
        if up_to <= self.delivered_seq {
            return false;
        }
        self.delivered_seq = up_to;
        self.delivered_at = Some(now);
        true
    }

    /// A message at `seq` from `sender` stopped counting for this side (deleted for everyone, or hidden by
    /// this member): if it was one of this side's unread messages, the count drops by one.
    pub fn forget_message(&mut self, seq: Seq, sender: UserId) {
        if sender != self.user && seq > self.read_seq && self.unread_count > 0 {
            self.unread_count -= 1;
        }
    }

    /// "Delete my side": clears the history seen so far, zeroes unread, and hides the side from the list
    /// until the next message arrives.
    pub fn clear(&mut self, now: DateTime<Utc>) {
        let last = self.last_message.map(|m| m.seq).unwrap_or(self.read_seq);
        self.cleared_seq = self.cleared_seq.max(last);
        self.advance_read(last, now);
        self.unread_count = 0;
        self.hidden = true;
    }

    /// Shows a hidden side again (for example when its member opens the conversation again).
    pub fn reveal(&mut self) {
        self.hidden = false;
    }

    /// Mutes or unmutes. Returns whether it changed.
    pub fn set_muted(&mut self, muted: bool) -> bool {
        std::mem::replace(&mut self.muted, muted) != muted
    }

    /// Archives or unarchives. Returns whether it changed.
    pub fn set_archived(&mut self, archived: bool) -> bool {
        std::mem::replace(&mut self.archived, archived) != archived
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().unwrap_or_default()
    }

    fn side(user: UserId, peer: UserId) -> Conversation {
        Conversation::open(
            TenantId::HOST,
            ConversationId::new_at(t0()),
            user,
            ConversationKind::Direct { peer },
            Seq::ZERO,
            t0(),
        )
    }

    fn last(seq: i64, sender: UserId) -> LastMessage {
        LastMessage { id: MessageId::new_at(t0()), seq: Seq::new(seq), sender, at: t0() }
    }

    #[test]
    fn others_messages_count_as_unread_and_own_as_read() {
        let (me, you) = (UserId::from_uuid(uuid::Uuid::new_v4()), UserId::from_uuid(uuid::Uuid::new_v4()));
        let mut s = side(me, you);
        s.record_message(&last(1, you));
        s.record_message(&last(2, you));
        assert_eq!(s.unread_count(), 2);
        s.record_message(&last(3, me));
        assert_eq!(s.unread_count(), 0);
        assert_eq!(s.read_seq(), Seq::new(3));
        assert_eq!(s.delivered_seq(), Seq::new(3));
    }

    #[test]
    fn reading_moves_watermarks_forward_only() {
        let (me, you) = (UserId::from_uuid(uuid::Uuid::new_v4()), UserId::from_uuid(uuid::Uuid::new_v4()));
        let mut s = side(me, you);
        for i in 1..=5 {
            s.record_message(&last(i, you));
        }
        assert!(s.mark_read_up_to(Seq::new(3), 2, t0()));
        assert_eq!((s.unread_count(), s.read_seq(), s.delivered_seq()), (2, Seq::new(3), Seq::new(3)));
        assert!(!s.mark_read_up_to(Seq::new(2), 0, t0()));
        assert_eq!(s.read_seq(), Seq::new(3));
        assert!(!s.mark_delivered_up_to(Seq::new(1), t0()));
        assert!(s.mark_delivered_up_to(Seq::new(5), t0()));
        assert_eq!(s.read_seq(), Seq::new(3));
    }

    #[test]
    fn forgetting_an_unread_message_lowers_the_count_once() {
        let (me, you) = (UserId::from_uuid(uuid::Uuid::new_v4()), UserId::from_uuid(uuid::Uuid::new_v4()));
        let mut s = side(me, you);
        s.record_message(&last(1, you));
        s.mark_read_up_to(Seq::new(1), 0, t0());
        s.record_message(&last(2, you));
        s.forget_message(Seq::new(1), you);
        assert_eq!(s.unread_count(), 1);
        s.forget_message(Seq::new(2), you);
        assert_eq!(s.unread_count(), 0);
        s.forget_message(Seq::new(2), you);
        assert_eq!(s.unread_count(), 0);
    }

    #[test]
    fn clearing_hides_until_the_next_message() {
        let (me, you) = (UserId::from_uuid(uuid::Uuid::new_v4()), UserId::from_uuid(uuid::Uuid::new_v4()));
        let mut s = side(me, you);
        s.record_message(&last(1, you));
        s.clear(t0());
        assert!(s.is_hidden());
        assert_eq!((s.unread_count(), s.cleared_seq()), (0, Seq::new(1)));
        s.record_message(&last(2, you));
        assert!(!s.is_hidden());
        assert_eq!(s.unread_count(), 1);
    }
}
