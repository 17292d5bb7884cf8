//! Domain rules proven on the store: the `MessagingManager` driven through units of work.

use std::collections::BTreeSet;

use crate::Repositories;
use crate::conversation::ConversationListQuery;
use crate::error::{DomainError, WorkError};
use crate::event::DomainEvent;
use crate::group::{ChatGroup, GroupRole, LeaveOutcome};
use crate::ids::{ConversationId, EventSeq, MessageId, Seq, TenantId, UserId};
use crate::message::DeleteScope;
use crate::messaging::{Actor, GroupChange, MessagingManager, SendTarget};
use crate::settings::{MessageDeletion, TenantSettings};

use super::super::fixtures::{
    at, commit, create_group, history, key, refused, seed_users, send, send_cmd, send_refused, tenant, text,
};

fn manager() -> MessagingManager {
    MessagingManager::default()
}

async fn change(
    repos: &Repositories,
    t: TenantId,
    actor: UserId,
    group: ConversationId,
    change: GroupChange,
    secs: i64,
) -> Result<Option<ChatGroup>, WorkError> {
    repos
        .uow
        .transact(move |tx| {
            Box::pin(async move { manager().change_group(tx, t, actor, group, change, at(secs)).await })
        })
        .await
        .map(|committed| committed.value)
}

async fn delete(
    repos: &Repositories,
    actor: Actor,
    id: MessageId,
    scope: DeleteScope,
    settings: TenantSettings,
) -> Result<(), WorkError> {
    repos
        .uow
        .transact(move |tx| Box::pin(async move { manager().delete_message(tx, actor, id, scope, &settings).await }))
        .await
        .map(|_| ())
}

async fn mark_read(
    repos: &Repositories,
    t: TenantId,
    user: UserId,
    c: ConversationId,
    up_to: Option<MessageId>,
    secs: i64,
) -> Option<Seq> {
    commit(repos, move |tx| Box::pin(async move { manager().mark_read(tx, t, user, c, up_to, at(secs)).await }))
        .await
        .value
}

async fn unread(repos: &Repositories, t: TenantId, c: ConversationId, user: UserId) -> i64 {
    repos.conversations.find(t, c, user).await.unwrap().expect("a side").unread_count()
}

fn domain(err: WorkError) -> DomainError {
    match err {
        WorkError::Domain(e) => e,
        WorkError::Repository(e) => panic!("expected a broken rule, got a storage error: {e}"),
    }
}

/// The first send to a user creates one direct conversation with two sides; later sends, either way
/// round, reuse it; writing to oneself or to an unknown user is refused.
pub async fn sending_to_a_user_creates_the_direct_conversation_once(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let s1 = send(repos, send_cmd(t, u, SendTarget::User(v), "one", at(1))).await.value.message;
    let s2 = send(repos, send_cmd(t, u, SendTarget::User(v), "two", at(2))).await.value.message;
    let s3 = send(repos, send_cmd(t, v, SendTarget::User(u), "three", at(3))).await.value.message;
    let c = s1.conversation();
    assert_eq!((s2.conversation(), s3.conversation()), (c, c));
    assert_eq!([s1.seq(), s2.seq(), s3.seq()], [Seq::new(1), Seq::new(2), Seq::new(3)]);
    assert_eq!(repos.conversations.member_count(t, c).await.unwrap(), 2);
    assert_eq!(repos.conversations.find_direct(t, u, v).await.unwrap().map(|s| s.id()), Some(c));
    assert_eq!(repos.conversations.find_direct(t, v, u).await.unwrap().map(|s| s.id()), Some(c));
    let list = ConversationListQuery { tenant: t, user: u, include_archived: true, before: None, limit: 10 };
    let listed = repos.conversations.list(&list).await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id()).collect::<Vec<_>>(), vec![c]);
    assert_eq!(listed[0].last_message().map(|m| m.id), Some(s3.id()));
    assert_eq!(unread(repos, t, c, u).await, 1);
    assert_eq!(history(repos, t, c, v).await.len(), 3);

    let err = domain(send_refused(repos, send_cmd(t, u, SendTarget::User(u), "me", at(4))).await);
    assert_eq!(err, DomainError::SelfConversation);
    let stranger = super::super::fixtures::user_id();
    let err = domain(send_refused(repos, send_cmd(t, u, SendTarget::User(stranger), "who", at(4))).await);
    assert_eq!(err, DomainError::NotFound("user"));
    assert_eq!(repos.conversations.find_direct(t, u, stranger).await.unwrap(), None);
}

/// Someone without a side (another user, or the same user id in another tenant) cannot send.
pub async fn non_member_cannot_send(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 3).await;
    let (u, v, w) = (users[0], users[1], users[2]);
    let c = send(repos, send_cmd(t, u, SendTarget::User(v), "private", at(1))).await.value.message.conversation();
    let err = domain(send_refused(repos, send_cmd(t, w, SendTarget::Conversation(c), "let me in", at(2))).await);
    assert_eq!(err, DomainError::NotAMember { conversation: c, user: w });
    let err = domain(send_refused(repos, send_cmd(tenant(), u, SendTarget::Conversation(c), "cross", at(2))).await);
    assert_eq!(err, DomainError::NotAMember { conversation: c, user: u });
    assert_eq!(history(repos, t, c, u).await.len(), 1);
    let next = send(repos, send_cmd(t, v, SendTarget::Conversation(c), "still 2", at(3))).await.value.message;
    assert_eq!(next.seq(), Seq::new(2));
}

/// A reply must quote a message of the same conversation.
pub async fn reply_from_another_conversation_is_refused(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 3).await;
    let (u, v, w) = (users[0], users[1], users[2]);
    let in_uv = send(repos, send_cmd(t, u, SendTarget::User(v), "in uv", at(1))).await.value.message;
    let uw = send(repos, send_cmd(t, u, SendTarget::User(w), "in uw", at(2))).await.value.message.conversation();
    let mut cmd = send_cmd(t, u, SendTarget::Conversation(uw), "quoting", at(3));
    cmd.reply_to = Some(in_uv.id());
    assert_eq!(domain(send_refused(repos, cmd).await), DomainError::ReplyOutsideConversation);
    assert_eq!(history(repos, t, uw, u).await.len(), 1);
    let mut cmd = send_cmd(t, v, SendTarget::Conversation(in_uv.conversation()), "answer", at(4));
    cmd.reply_to = Some(in_uv.id());
    let reply = send(repos, cmd).await.value.message;
    let stored = repos.messages.find(t, reply.id()).await.unwrap().expect("the reply");
    assert_eq!(stored.reply_to(), Some(in_uv.id()));
}

/// A plain member may not remove an admin; an admin may remove a plain member, whose side goes.
pub async fn member_cannot_remove_an_admin(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 4).await;
    let (o, a, m, n) = (users[0], users[1], users[2], users[3]);
    let g = create_group(repos, t, o, &[a, m, n], at(0)).await.id();
    change(repos, t, o, g, GroupChange::ChangeRole(a, GroupRole::Admin), 1).await.unwrap();
    let err = domain(change(repos, t, m, g, GroupChange::RemoveMember(a), 2).await.unwrap_err());
    assert!(matches!(err, DomainError::RoleRequired { .. }), "got {err:?}");
    let group = repos.groups.find(t, g).await.unwrap().expect("the group");
    assert_eq!(group.role_of(a), Some(GroupRole::Admin));
    assert!(repos.conversations.find(t, g, a).await.unwrap().is_some());

    let after = change(repos, t, a, g, GroupChange::RemoveMember(n), 3).await.unwrap().expect("the group stays");
    assert_eq!(after.role_of(n), None);
    assert_eq!(repos.groups.find(t, g).await.unwrap().and_then(|g| g.role_of(n)), None);
    assert_eq!(repos.conversations.find(t, g, n).await.unwrap(), None);
    assert_eq!(repos.conversations.member_count(t, g).await.unwrap(), 3);
    let told = repos.events.after(t, n, EventSeq::ZERO, 100).await.unwrap();
    assert!(told.iter().any(|e| *e.event == DomainEvent::GroupMemberRemoved { group: g, user: n }));
    let err = domain(send_refused(repos, send_cmd(t, n, SendTarget::Conversation(g), "still here?", at(4))).await);
    assert_eq!(err, DomainError::NotAMember { conversation: g, user: n });
}

/// The owner hands ownership over and becomes an admin; the former owner can no longer transfer it.
pub async fn ownership_is_transferred(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 3).await;
    let (o, m, x) = (users[0], users[1], users[2]);
    let g = create_group(repos, t, o, &[m, x], at(0)).await.id();
    let err = domain(change(repos, t, m, g, GroupChange::TransferOwnership(m), 1).await.unwrap_err());
    assert!(matches!(err, DomainError::RoleRequired { .. }), "got {err:?}");
    let group = change(repos, t, o, g, GroupChange::TransferOwnership(m), 2).await.unwrap().expect("the group");
    assert_eq!((group.owner(), group.role_of(o)), (Some(m), Some(GroupRole::Admin)));
    let stored = repos.groups.find(t, g).await.unwrap().expect("the group");
    assert_eq!(
        (stored.owner(), stored.role_of(o), stored.role_of(x)),
        (Some(m), Some(GroupRole::Admin), Some(GroupRole::Member))
    );
    let err = domain(change(repos, t, o, g, GroupChange::TransferOwnership(x), 3).await.unwrap_err());
    assert!(matches!(err, DomainError::RoleRequired { .. }), "got {err:?}");
    assert_eq!(repos.groups.find(t, g).await.unwrap().and_then(|g| g.owner()), Some(m));
}

/// When the last member (the owner) leaves, the group and everything of it is deleted and they are told.
pub async fn last_owner_leaving_deletes_the_group(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (o, m) = (users[0], users[1]);
    let g = create_group(repos, t, o, &[m], at(0)).await.id();
    let sent = send(repos, send_cmd(t, o, SendTarget::Conversation(g), "bye", at(1))).await.value.message;
    let left = change(repos, t, m, g, GroupChange::Leave, 2).await.unwrap().expect("the owner is still there");
    assert_eq!(left.members().len(), 1);
    let gone = repos
        .uow
        .transact(move |tx| {
            Box::pin(async move { manager().change_group(tx, t, o, g, GroupChange::Leave, at(3)).await })
        })
        .await
        .unwrap();
    assert_eq!(gone.value, None);
    assert!(gone.events.iter().any(|e| *e.event == DomainEvent::ConversationDeleted { conversation: g }));
    assert_eq!(repos.groups.find(t, g).await.unwrap(), None);
    assert!(repos.conversations.sides(t, g).await.unwrap().is_empty());
    assert_eq!(repos.messages.find(t, sent.id()).await.unwrap(), None);
    let told = repos.events.after(t, o, EventSeq::ZERO, 100).await.unwrap();
    assert!(told.iter().any(|e| *e.event == DomainEvent::ConversationDeleted { conversation: g }));
    let mut group = left;
    assert_eq!(group.leave(o, at(3)), Ok(LeaveOutcome::GroupEmpty));
}

/// An owner who leaves hands ownership to the admin who joined first, even if a plain member joined
/// earlier still.
pub async fn owner_leaving_passes_ownership_to_longest_standing_admin(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 4).await;
    let (o, early_member, first_admin, second_admin) = (users[0], users[1], users[2], users[3]);
    let g = create_group(repos, t, o, &[early_member], at(0)).await.id();
    change(repos, t, o, g, GroupChange::AddMembers(vec![first_admin]), 5).await.unwrap();
    change(repos, t, o, g, GroupChange::AddMembers(vec![second_admin]), 6).await.unwrap();
    change(repos, t, o, g, GroupChange::ChangeRole(second_admin, GroupRole::Admin), 7).await.unwrap();
    change(repos, t, o, g, GroupChange::ChangeRole(first_admin, GroupRole::Admin), 8).await.unwrap();
    let after = change(repos, t, o, g, GroupChange::Leave, 9).await.unwrap().expect("the group stays");
    assert_eq!(after.owner(), Some(first_admin));
    let stored = repos.groups.find(t, g).await.unwrap().expect("the group");
    assert_eq!(stored.owner(), Some(first_admin));
    assert_eq!(stored.role_of(o), None);
    assert_eq!(stored.role_of(second_admin), Some(GroupRole::Admin));
    assert_eq!(stored.role_of(early_member), Some(GroupRole::Member));
    assert_eq!(repos.conversations.find(t, g, o).await.unwrap(), None);
}

/// Only the author edits; the edit is stored and every member is told.
pub async fn editing_someone_elses_message_is_refused(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let m = send(repos, send_cmd(t, u, SendTarget::User(v), "original", at(1))).await.value.message;
    let id = m.id();
    let settings = TenantSettings::default();
    let s = settings.clone();
    let err = refused(repos, move |tx| {
        Box::pin(
            async move { manager().edit(tx, Actor { tenant: t, user: v, now: at(2) }, id, text("hijacked"), &s).await },
        )
    })
    .await;
    assert!(matches!(domain(err), DomainError::NotTheAuthor { .. }));
    let stored = repos.messages.find(t, id).await.unwrap().expect("the message");
    assert_eq!((stored.text().map(|x| x.as_str()), stored.edited_at()), (Some("original"), None));

    let edited = commit(repos, move |tx| {
        Box::pin(async move {
            manager().edit(tx, Actor { tenant: t, user: u, now: at(3) }, id, text("fixed"), &settings).await
        })
    })
    .await;
    let stored = repos.messages.find(t, id).await.unwrap().expect("the message");
    assert_eq!((stored.text().map(|x| x.as_str()), stored.edited_at()), (Some("fixed"), Some(at(3))));
    assert_eq!((stored.seq(), stored.created_at(), stored.sender()), (m.seq(), m.created_at(), u));
    assert_eq!(edited.events.len(), 1);
    let recipients: BTreeSet<UserId> = edited.events[0].recipients.iter().map(|(user, _)| *user).collect();
    assert_eq!(recipients, BTreeSet::from([u, v]));
}

/// With a deletion period, deleting for everyone is refused once it has passed; disabled means never.
pub async fn deletion_period_is_enforced(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let m = send(repos, send_cmd(t, u, SendTarget::User(v), "regret", at(10))).await.value.message;
    let period = TenantSettings {
        deleting_messages: MessageDeletion::EnabledWithDeletionPeriod,
        message_deletion_period: 60,
        ..TenantSettings::default()
    };
    let late = Actor { tenant: t, user: u, now: at(71) };
    let err = domain(delete(repos, late, m.id(), DeleteScope::Everyone, period.clone()).await.unwrap_err());
    assert!(matches!(err, DomainError::DeletionNotAllowed { .. }), "got {err:?}");
    let off = TenantSettings { deleting_messages: MessageDeletion::Disabled, ..TenantSettings::default() };
    let early = Actor { tenant: t, user: u, now: at(11) };
    let err = domain(delete(repos, early, m.id(), DeleteScope::Everyone, off).await.unwrap_err());
    assert!(matches!(err, DomainError::DeletionNotAllowed { .. }), "got {err:?}");
    assert!(!repos.messages.find(t, m.id()).await.unwrap().expect("kept").is_deleted());
    assert_eq!(unread(repos, t, m.conversation(), v).await, 1);

    let in_time = Actor { tenant: t, user: u, now: at(70) };
    delete(repos, in_time, m.id(), DeleteScope::Everyone, period).await.unwrap();
    let stored = repos.messages.find(t, m.id()).await.unwrap().expect("the position stays");
    assert_eq!((stored.is_deleted(), stored.text(), stored.deleted_at()), (true, None, Some(at(70))));
    assert_eq!(unread(repos, t, m.conversation(), v).await, 0);
    let seen = history(repos, t, m.conversation(), v).await;
    assert_eq!(seen.iter().map(|m| (m.seq(), m.is_deleted())).collect::<Vec<_>>(), vec![(Seq::new(1), true)]);
}

/// A group owner or admin may delete anyone's message for everyone; a plain member may not.
pub async fn group_admin_may_delete_for_everyone_but_plain_member_may_not(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 4).await;
    let (o, a, m1, m2) = (users[0], users[1], users[2], users[3]);
    let g = create_group(repos, t, o, &[a, m1, m2], at(0)).await.id();
    change(repos, t, o, g, GroupChange::ChangeRole(a, GroupRole::Admin), 1).await.unwrap();
    let msg = send(repos, send_cmd(t, m2, SendTarget::Conversation(g), "spam", at(2))).await.value.message;
    assert_eq!(unread(repos, t, g, m1).await, 1);
    let settings = TenantSettings::default();
    let by_member = Actor { tenant: t, user: m1, now: at(3) };
    let err = domain(delete(repos, by_member, msg.id(), DeleteScope::Everyone, settings.clone()).await.unwrap_err());
    assert!(matches!(err, DomainError::NotTheAuthor { .. }), "got {err:?}");
    assert!(!repos.messages.find(t, msg.id()).await.unwrap().expect("kept").is_deleted());

    let by_admin = Actor { tenant: t, user: a, now: at(4) };
    delete(repos, by_admin, msg.id(), DeleteScope::Everyone, settings).await.unwrap();
    assert!(repos.messages.find(t, msg.id()).await.unwrap().expect("the position stays").is_deleted());
    assert_eq!((unread(repos, t, g, m1).await, unread(repos, t, g, o).await), (0, 0));
    let told = repos.events.after(t, m1, EventSeq::ZERO, 100).await.unwrap();
    let deleted = DomainEvent::MessageDeleted { conversation: g, message: msg.id(), scope: DeleteScope::Everyone };
    assert!(told.iter().any(|e| *e.event == deleted));
}

/// Unread counts and watermarks follow sends, reads up to a message, "delete for me" of an unread
/// message, and reading to the end; receipts and the total agree.
pub async fn unread_counts_follow_sends_reads_and_deletions(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let mut sent = Vec::new();
    for i in 1..=4 {
        sent.push(send(repos, send_cmd(t, u, SendTarget::User(v), &format!("m{i}"), at(i))).await.value.message);
    }
    let c = sent[0].conversation();
    assert_eq!(unread(repos, t, c, v).await, 4);
    assert_eq!(repos.conversations.total_unread(t, v).await.unwrap(), 4);

    assert_eq!(mark_read(repos, t, v, c, Some(sent[1].id()), 10).await, Some(Seq::new(2)));
    let side = repos.conversations.find(t, c, v).await.unwrap().expect("v's side");
    assert_eq!((side.unread_count(), side.read_seq(), side.delivered_seq()), (2, Seq::new(2), Seq::new(2)));
    assert_eq!(mark_read(repos, t, v, c, Some(sent[0].id()), 11).await, None, "watermarks never go back");

    let hide = Actor { tenant: t, user: v, now: at(12) };
    delete(repos, hide, sent[3].id(), DeleteScope::Me, TenantSettings::default()).await.unwrap();
    assert_eq!(unread(repos, t, c, v).await, 1);
    assert_eq!(history(repos, t, c, v).await.len(), 3);
    assert_eq!(history(repos, t, c, u).await.len(), 4);
    assert_eq!(unread(repos, t, c, u).await, 0);

    send(repos, send_cmd(t, u, SendTarget::Conversation(c), "m5", at(13))).await;
    assert_eq!(repos.conversations.total_unread(t, v).await.unwrap(), 2);
    assert_eq!(mark_read(repos, t, v, c, None, 14).await, Some(Seq::new(5)));
    let side = repos.conversations.find(t, c, v).await.unwrap().expect("v's side");
    assert_eq!((side.unread_count(), side.read_seq()), (0, Seq::new(5)));
    assert_eq!(repos.conversations.total_unread(t, v).await.unwrap(), 0);

    let receipts = repos.conversations.receipts(t, c, Seq::new(2)).await.unwrap();
    let of_v = receipts.iter().find(|r| r.user == v).expect("v's receipt");
    assert_eq!((of_v.read_at, of_v.delivered_at), (Some(at(10)), Some(at(10))));
    let receipts = repos.conversations.receipts(t, c, Seq::new(3)).await.unwrap();
    assert_eq!(receipts.iter().find(|r| r.user == v).and_then(|r| r.read_at), Some(at(14)));
}

/// The total unread a user is shown is kept on write, not summed on read; whatever happens to their sides it
/// equals the sum of their sides' unread counts: sends, reads, muting, "delete for me", delete for
/// everyone, clearing a side, leaving a group and being removed from one, deleting a group.
pub async fn unread_total_equals_the_sum_of_sides_after_every_operation(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 4).await;
    let (a, b, c, d) = (users[0], users[1], users[2], users[3]);
    let direct = send(repos, send_cmd(t, b, SendTarget::User(a), "hi", at(1))).await.value.message.conversation();
    let group = create_group(repos, t, a, &[b, c, d], at(2)).await.id();
    let other = create_group(repos, t, b, &[a, c], at(3)).await.id();
    let known = [direct, group, other];
    let check = async |step: &str| {
        for user in [a, b, c, d] {
            let mut sum = 0;
            for id in known {
                sum += repos.conversations.find(t, id, user).await.unwrap().map_or(0, |s| s.unread_count());
            }
            let total = repos.conversations.total_unread(t, user).await.unwrap();
            assert_eq!(total, sum, "after {step}: the total of {user} is not the sum of their sides");
        }
    };
    check("the first send").await;

    let mut group_messages = Vec::new();
    for (i, sender) in [b, c, d, b, c].into_iter().enumerate() {
        let secs = 10 + i as i64;
        let cmd = send_cmd(t, sender, SendTarget::Conversation(group), &format!("g{i}"), at(secs));
        group_messages.push(send(repos, cmd).await.value.message);
    }
    for i in 0..3 {
        send(repos, send_cmd(t, c, SendTarget::Conversation(other), &format!("o{i}"), at(20 + i))).await;
        send(repos, send_cmd(t, b, SendTarget::Conversation(direct), &format!("d{i}"), at(20 + i))).await;
    }
    check("sends").await;
    // a has unread messages everywhere: the direct conversation's "hi" and d0..d2, the five group
    // messages, o0..o2 in the other group.
    for (id, expected) in [(direct, 4), (group, 5), (other, 3)] {
        let side = repos.conversations.find(t, id, a).await.unwrap().expect("a's side");
        assert_eq!(side.unread_count(), expected, "a's unread in {id}");
    }
    assert_eq!(repos.conversations.total_unread(t, a).await.unwrap(), 12, "a's total unread");

    mark_read(repos, t, a, group, Some(group_messages[1].id()), 30).await;
    check("a partial read").await;

    let muted = commit(repos, move |tx| {
        Box::pin(async move { manager().update_side(tx, t, a, direct, |s| s.set_muted(true), at(31)).await })
    })
    .await
    .value;
    assert!(muted.is_muted());
    check("muting").await;

    let as_a = Actor { tenant: t, user: a, now: at(32) };
    delete(repos, as_a, group_messages[3].id(), DeleteScope::Me, TenantSettings::default()).await.unwrap();
    check("delete for me").await;

    let as_c = Actor { tenant: t, user: c, now: at(33) };
    delete(repos, as_c, group_messages[4].id(), DeleteScope::Everyone, TenantSettings::default()).await.unwrap();
    check("delete for everyone").await;

    commit(repos, move |tx| {
        Box::pin(async move { manager().delete_side(tx, t, a, other, &TenantSettings::default(), at(34)).await })
    })
    .await;
    check("clearing a side").await;
    send(repos, send_cmd(t, c, SendTarget::Conversation(other), "after clear", at(35))).await;
    check("a send to a cleared side").await;

    change(repos, t, d, group, GroupChange::Leave, 36).await.unwrap();
    check("leaving a group").await;
    change(repos, t, a, group, GroupChange::RemoveMember(c), 37).await.unwrap();
    check("removing a member").await;
    change(repos, t, a, group, GroupChange::AddMembers(vec![d]), 38).await.unwrap();
    send(repos, send_cmd(t, b, SendTarget::Conversation(group), "welcome back", at(39))).await;
    check("adding a member and sending").await;

    commit(repos, move |tx| Box::pin(async move { manager().delete_group(tx, t, a, group, at(40)).await })).await;
    check("deleting a group").await;

    mark_read(repos, t, a, direct, None, 41).await;
    mark_read(repos, t, a, other, None, 42).await;
    check("reading everything").await;
    assert_eq!(repos.conversations.total_unread(t, a).await.unwrap(), 0);
}

/// Resending with the same idempotency key returns the first message and stores and announces nothing.
pub async fn resend_with_same_client_message_id_returns_the_original(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let mut cmd = send_cmd(t, u, SendTarget::User(v), "once", at(1));
    cmd.client_message_id = Some(key("retry-1"));
    let first = send(repos, cmd.clone()).await;
    assert!(!first.value.duplicate);
    assert_eq!(first.events.len(), 1);
    cmd.text = text("twice?");
    cmd.now = at(2);
    let again = send(repos, cmd).await;
    assert!(again.value.duplicate);
    assert_eq!(again.value.message, first.value.message);
    assert!(again.events.is_empty(), "a repeat announces nothing");
    let c = first.value.message.conversation();
    assert_eq!(history(repos, t, c, v).await.len(), 1);
    assert_eq!(unread(repos, t, c, v).await, 1);
    let next = send(repos, send_cmd(t, u, SendTarget::Conversation(c), "next", at(3))).await.value.message;
    assert_eq!(next.seq(), Seq::new(2));
}

/// Fifty concurrent sends to one conversation get exactly the positions 1 to 50.
pub async fn concurrent_sends_get_gap_free_seqs(repos: &Repositories) {
    const SENDS: i64 = 50;
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let c = commit(repos, move |tx| Box::pin(async move { manager().open_direct(tx, t, u, v, at(0)).await }))
        .await
        .value
        .id();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..SENDS {
        let repos = repos.clone();
        let sender = if i % 2 == 0 { u } else { v };
        let cmd = send_cmd(t, sender, SendTarget::Conversation(c), &format!("concurrent {i}"), at(1 + i));
        sends.spawn(async move {
            repos.uow.transact(move |tx| Box::pin(async move { manager().send(tx, cmd).await })).await
        });
    }
    let mut seqs = Vec::new();
    while let Some(joined) = sends.join_next().await {
        let committed = joined.expect("the send task ran").expect("every send commits");
        seqs.push(committed.value.message.seq().value());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=SENDS).collect::<Vec<_>>());
    let stored: Vec<i64> = history(repos, t, c, u).await.iter().map(|m| m.seq().value()).collect();
    assert_eq!(stored, (1..=SENDS).collect::<Vec<_>>());
}

/// A send records `message.created` once for every member at a new position of each member's stream, and
/// the commit hands out exactly what was stored; a refused send records and hands out nothing.
pub async fn events_are_recorded_for_every_member_and_returned_after_commit(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 4).await;
    let (o, a, b, outsider) = (users[0], users[1], users[2], users[3]);
    let g = create_group(repos, t, o, &[a, b], at(0)).await.id();
    let windows = |repos: Repositories| async move {
        let mut w = Vec::new();
        for user in [o, a, b, outsider] {
            w.push(repos.events.window(t, user).await.unwrap());
        }
        w
    };
    let before = windows(repos.clone()).await;
    let sent = send(repos, send_cmd(t, a, SendTarget::Conversation(g), "to all", at(1))).await;
    assert_eq!(sent.events.len(), 1);
    let event = &sent.events[0];
    assert_eq!(*event.event, DomainEvent::MessageCreated { message: sent.value.message.to_parts() });
    let recipients: BTreeSet<UserId> = event.recipients.iter().map(|(user, _)| *user).collect();
    assert_eq!(recipients, BTreeSet::from([o, a, b]));
    for (i, &(user, position)) in event.recipients.iter().enumerate() {
        let index = [o, a, b].iter().position(|x| *x == user).expect("a member");
        assert!(position > before[index].latest, "recipient {i} gets a new position");
        let stored = repos.events.after(t, user, before[index].latest, 10).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].seq, &stored[0].event, stored[0].at), (position, &event.event, at(1)));
    }
    assert!(repos.events.after(t, outsider, EventSeq::ZERO, 10).await.unwrap().is_empty());

    let after_send = windows(repos.clone()).await;
    send_refused(repos, send_cmd(t, outsider, SendTarget::Conversation(g), "sneaky", at(2))).await;
    let mut reply = send_cmd(t, a, SendTarget::Conversation(g), "bad reply", at(3));
    reply.reply_to = Some(MessageId::new_at(at(3)));
    send_refused(repos, reply).await;
    assert_eq!(windows(repos.clone()).await, after_send, "refused units record no events");
}

/// A message a member deleted for themselves is gone for them: they can no longer edit or react to it,
/// while the other member still can.
pub async fn a_message_hidden_by_a_member_is_out_of_their_reach(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 2).await;
    let (u, v) = (users[0], users[1]);
    let m = send(repos, send_cmd(t, u, SendTarget::User(v), "mine", at(1))).await.value.message;
    let id = m.id();
    delete(repos, Actor { tenant: t, user: u, now: at(2) }, id, DeleteScope::Me, TenantSettings::default())
        .await
        .expect("delete for me");
    let settings = TenantSettings::default();
    let err = refused(repos, move |tx| {
        Box::pin(
            async move { manager().edit(tx, Actor { tenant: t, user: u, now: at(3) }, id, text("x"), &settings).await },
        )
    })
    .await;
    assert_eq!(domain(err), DomainError::NotFound("message"));
    let emoji = crate::message::Emoji::parse("👍").expect("an emoji");
    let e = emoji.clone();
    let err = refused(repos, move |tx| {
        Box::pin(async move { manager().react(tx, Actor { tenant: t, user: u, now: at(3) }, id, e, true).await })
    })
    .await;
    assert_eq!(domain(err), DomainError::NotFound("message"));
    let reacted = commit(repos, move |tx| {
        Box::pin(async move { manager().react(tx, Actor { tenant: t, user: v, now: at(4) }, id, emoji, true).await })
    })
    .await;
    assert!(reacted.value, "the other member still sees the message");
}

/// Creating a group tells each member once (not every member about every other); a role change is a
/// `group.member_updated`, not a join.
pub async fn group_events_name_what_happened(repos: &Repositories) {
    let t = tenant();
    let users = seed_users(repos, t, 4).await;
    let (o, rest) = (users[0], users[1..].to_vec());
    let members = rest.clone();
    let created = commit(repos, move |tx| {
        Box::pin(async move {
            let details = crate::group::GroupDetails::parse("Team", None, None)?;
            manager().create_group(tx, t, o, details, &members, at(1)).await
        })
    })
    .await;
    assert_eq!(created.events.len(), 4, "one event per member");
    for event in &created.events {
        assert_eq!(event.recipients.len(), 1);
        match event.event.as_ref() {
            DomainEvent::GroupMemberAdded { user, .. } => assert_eq!(event.recipients[0].0, *user),
            other => panic!("unexpected {other:?}"),
        }
    }
    let g = created.value.id();
    let changed = commit(repos, move |tx| {
        Box::pin(async move {
            manager().change_group(tx, t, o, g, GroupChange::ChangeRole(rest[0], GroupRole::Admin), at(2)).await
        })
    })
    .await;
    let names: Vec<&str> = changed.events.iter().map(|e| e.event.name()).collect();
    assert_eq!(names, ["group.member_updated"]);
    assert_eq!(changed.events[0].recipients.len(), 4);
}
