//! The reads that filter, order and paginate: history pages, search, conversation lists, unread counts,
//! receipts, member and user pages, event streams. Each applies the member's view (hidden marks, cleared
//! position) the same way everywhere, so page, search and unread counts never disagree.

use std::cmp::Reverse;

use crate::conversation::{Conversation, ConversationListQuery, MemberReceipt};
use crate::event::StoredEvent;
use crate::group::{GroupMember, GroupMemberPageQuery};
use crate::ids::{ConversationId, EventSeq, Seq, TenantId, UserId};
use crate::message::{Message, MessagePageQuery, MessageSearchQuery, PageOrder};
use crate::user::{ChatUser, UserSearchQuery};

use super::state::{EVENT_SEQ_MAX, SEQ_MAX, State, USER_MAX, USER_MIN};

impl State {
    /// Whether `side`'s member can see `message`: after their cleared position and not deleted for them.
    fn visible_on(&self, side: &Conversation, message: &Message) -> bool {
        message.seq() > side.cleared_seq() && !self.is_hidden(side.tenant(), message.id(), side.user())
    }

    /// A page of history as the viewer sees it; nothing for someone without a side.
    pub(super) fn page(&self, query: &MessagePageQuery) -> Vec<Message> {
        let Some(side) = self.side(query.tenant, query.conversation, query.viewer) else {
            return Vec::new();
        };
        let after = query.after.max(side.cleared_seq());
        let before = query.before.unwrap_or(SEQ_MAX);
        let in_window = |m: &&Message| {
            self.visible_on(side, m)
                && query.from.is_none_or(|from| m.created_at() >= from)
                && query.to.is_none_or(|to| m.created_at() <= to)
        };
        let messages = self.messages_between(query.tenant, query.conversation, after, before);
        match query.order {
            PageOrder::OldestFirst => messages.filter(in_window).take(query.limit).cloned().collect(),
            PageOrder::NewestFirst => messages.rev().filter(in_window).take(query.limit).cloned().collect(),
        }
    }

    /// How many of others' messages after `after` the member has not deleted and still sees.
    pub(super) fn count_unread_after(&self, tenant: TenantId, id: ConversationId, user: UserId, after: Seq) -> i64 {
        let Some(side) = self.side(tenant, id, user) else { return 0 };
        let after = after.max(side.cleared_seq());
        let count = self
            .messages_between(tenant, id, after, SEQ_MAX)
            .filter(|m| m.sender() != user && !m.is_deleted() && self.visible_on(side, m))
            .count();
        i64::try_from(count).unwrap_or(i64::MAX)
    }

    /// Messages containing every word (case-insensitive) in the viewer's conversations; the most
    /// occurrences first, then the newest.
    pub(super) fn search(&self, query: &MessageSearchQuery) -> Vec<Message> {
        let words: Vec<String> = query.text.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() || query.limit == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(usize, &Message)> = Vec::new();
        for side in self.sides_of_user(query.tenant, query.viewer) {
            if query.conversation.is_some_and(|c| c != side.id()) {
                continue;
            }
            for message in self.messages_between(query.tenant, side.id(), side.cleared_seq(), SEQ_MAX) {
                let Some(text) = message.text() else { continue };
                if message.is_deleted() || !self.visible_on(side, message) {
                    continue;
                }
                let text = text.as_str().to_lowercase();
                if words.iter().all(|w| text.contains(w.as_str())) {
                    let score = words.iter().map(|w| text.matches(w.as_str()).count()).sum();
                    hits.push((score, message));
                }
            }
        }
        hits.sort_by_key(|(score, m)| (Reverse(*score), Reverse(m.created_at()), Reverse(m.id())));
        hits.into_iter().skip(query.offset).take(query.limit).map(|(_, m)| m.clone()).collect()
    }

    /// A page of a user's list: newest activity first, hidden sides never, archived ones on request.
    pub(super) fn list(&self, query: &ConversationListQuery) -> Vec<Conversation> {
        let mut sides: Vec<&Conversation> = self
            .sides_of_user(query.tenant, query.user)
            .filter(|s| !s.is_hidden() && (query.include_archived || !s.is_archived()))
            .filter(|s| query.before.is_none_or(|before| (s.last_activity_at(), s.id()) < before))
            .collect();
        sides.sort_by_key(|s| Reverse((s.last_activity_at(), s.id())));
        sides.into_iter().take(query.limit).cloned().collect()
    }

    /// The sum of a user's unread counts, kept on write (see [`State::put_side`]).
    pub(super) fn total_unread(&self, tenant: TenantId, user: UserId) -> i64 {
        self.unread_totals.get(&(tenant, user)).copied().unwrap_or(0)
    }

    /// For every member, when their watermarks first reached `seq`.
    pub(super) fn receipts(&self, tenant: TenantId, id: ConversationId, seq: Seq) -> Vec<MemberReceipt> {
        self.sides_of(tenant, id)
            .map(|side| {
                let log = self.receipts.get(&(tenant, id, side.user()));
                MemberReceipt {
                    user: side.user(),
                    delivered_at: log.and_then(|l| l.delivered_at(seq)),
                    read_at: log.and_then(|l| l.read_at(seq)),
                }
            })
            .collect()
    }

    /// A page of a group's members, by user id.
    pub(super) fn group_members(&self, query: &GroupMemberPageQuery) -> Vec<GroupMember> {
        let Some(group) = self.groups.get(&(query.tenant, query.group)) else { return Vec::new() };
        let mut members: Vec<GroupMember> =
            group.members().iter().filter(|m| query.after.is_none_or(|after| m.user > after)).copied().collect();
        members.sort_by_key(|m| m.user);
        members.truncate(query.limit);
        members
    }

    /// Active users matching a filter, by id.
    pub(super) fn search_users(&self, query: &UserSearchQuery) -> Vec<ChatUser> {
        let filter = query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_lowercase);
        let matches = |user: &ChatUser| {
            let Some(filter) = &filter else { return true };
            let name = user.name();
            [Some(name.user_name()), name.name(), name.surname()]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(filter.as_str()))
        };
        let start = (query.tenant, query.after.unwrap_or(USER_MIN));
        self.users
            .range(start..=(query.tenant, USER_MAX))
            .map(|(_, user)| user)
            .filter(|user| query.after != Some(user.id()) && user.is_active() && matches(user))
            .take(query.limit)
            .cloned()
            .collect()
    }

    /// A user's events after a position, oldest first.
    pub(super) fn events_after(
        &self,
        tenant: TenantId,
        user: UserId,
        after: EventSeq,
        limit: usize,
    ) -> Vec<StoredEvent> {
        if after >= EVENT_SEQ_MAX {
            return Vec::new();
        }
        self.events
            .range((tenant, user, after.next())..=(tenant, user, EVENT_SEQ_MAX))
            .take(limit)
            .map(|(_, event)| event.clone())
            .collect()
    }
}
