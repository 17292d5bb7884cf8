//! Conversation sides: direct uniqueness, the list, unread counts and watermarks, receipts, purge.

use crate::Repositories;
use crate::conversation::{Conversation, ConversationKind, ConversationListQuery, ReceiptKind};
use crate::error::{RepositoryError, WorkError};
use crate::group::{ChatGroup, GroupDetails};
use crate::ids::{ConversationId, Seq, TenantId, UserId};
use crate::message::{Emoji, MessagePageQuery, PageOrder, Reaction};

use super::super::fixtures::{
    Draft, at, commit, conversation_id, direct_sides, group_sides, key, store_message, tenant, user_id,
};

fn direct(t: TenantId, id: ConversationId, user: UserId, peer: UserId, secs: i64) -> Conversation {
    Conversation::open(t, id, user, ConversationKind::Direct { peer }, Seq::ZERO, at(secs))
}

async fn save(repos: &Repositories, side: Conversation) -> Result<(), WorkError> {
    repos
        .uow
        .transact(move |tx| Box::pin(async move { Ok::<_, WorkError>(tx.save_conversation(&side).await?) }))
        .await
        .map(|_| ())
}

async fn side(repos: &Repositories, t: TenantId, id: ConversationId, user: UserId) -> Conversation {
    repos.conversations.find(t, id, user).await.unwrap().expect("the side exists")
}

/// A second direct conversation for the same (tenant, user, peer) is a `Conflict` and changes nothing;
/// replacing the existing side, or the same pair in another tenant, is fine.
pub async fn direct_conversation_is_unique_per_user_and_peer(repos: &Repositories) {
    let t = tenant();
    let (u, p) = (user_id(), user_id());
    let first = direct_sides(repos, t, u, p, at(0)).await;
    let second = conversation_id();
    let err = save(repos, direct(t, second, u, p, 1)).await.expect_err("a second direct side must conflict");
    assert!(matches!(err, WorkError::Repository(RepositoryError::Conflict(_))), "got {err:?}");
    assert_eq!(repos.conversations.find_direct(t, u, p).await.unwrap().map(|s| s.id()), Some(first));
    assert_eq!(repos.conversations.find(t, second, u).await.unwrap(), None);

    let mut muted = side(repos, t, first, u).await;
    assert!(muted.set_muted(true));
    save(repos, muted).await.expect("replacing a side is not a conflict");
    assert!(side(repos, t, first, u).await.is_muted());
    assert_eq!(repos.conversations.find_direct(t, p, u).await.unwrap().map(|s| s.id()), Some(first));

    let t2 = tenant();
    save(repos, direct(t2, second, u, p, 2)).await.expect("another tenant has its own direct conversations");
    assert_eq!(repos.conversations.find_direct(t2, u, p).await.unwrap().map(|s| s.id()), Some(second));
    assert_eq!(repos.conversations.find_direct(t, u, p).await.unwrap().map(|s| s.id()), Some(first));
    assert_eq!(repos.conversations.member_count(t, first).await.unwrap(), 2);
    let sides = repos.conversations.sides(t, first).await.unwrap();
    let mut users: Vec<UserId> = sides.iter().map(Conversation::user).collect();
    users.sort();
    let mut expected = vec![u, p];
    expected.sort();
    assert_eq!(users, expected);
}

/// The list is ordered by (last activity, id) descending with a strict keyset cursor; hidden sides never
/// show, archived ones only on request.
pub async fn conversation_list_is_newest_first_with_keyset_archived_and_hidden(repos: &Repositories) {
    let t = tenant();
    let u = user_id();
    let mut ids = Vec::new();
    for secs in 1..=4 {
        let id = conversation_id();
        let mut s = direct(t, id, u, user_id(), secs);
        if secs == 2 {
            s.clear(at(2));
        }
        if secs == 3 {
            s.set_archived(true);
        }
        save(repos, s).await.unwrap();
        ids.push(id);
    }
    let (tie_low, tie_high) = {
        let (x, y) = (conversation_id(), conversation_id());
        if x < y { (x, y) } else { (y, x) }
    };
    for id in [tie_low, tie_high] {
        save(repos, direct(t, id, u, user_id(), 5)).await.unwrap();
    }
    let query =
        |include_archived, before, limit| ConversationListQuery { tenant: t, user: u, include_archived, before, limit };
    let listed = |v: Vec<Conversation>| v.iter().map(Conversation::id).collect::<Vec<_>>();

    let all = listed(repos.conversations.list(&query(true, None, 10)).await.unwrap());
    assert_eq!(all, vec![tie_high, tie_low, ids[3], ids[2], ids[0]]);
    let unarchived = listed(repos.conversations.list(&query(false, None, 10)).await.unwrap());
    assert_eq!(unarchived, vec![tie_high, tie_low, ids[3], ids[0]]);
    let first = listed(repos.conversations.list(&query(true, None, 2)).await.unwrap());
    assert_eq!(first, vec![tie_high, tie_low]);
    let after_tie = listed(repos.conversations.list(&query(true, Some((at(5), tie_high)), 2)).await.unwrap());
    assert_eq!(after_tie, vec![tie_low, ids[3]]);
    let after_fourth = listed(repos.conversations.list(&query(true, Some((at(4), ids[3])), 10)).await.unwrap());
    assert_eq!(after_fourth, vec![ids[2], ids[0]]);
    assert!(repos.conversations.list(&query(true, None, 10)).await.unwrap().iter().all(|s| s.user() == u));
    let someone_else = ConversationListQuery { user: user_id(), ..query(true, None, 10) };
    assert!(repos.conversations.list(&someone_else).await.unwrap().is_empty());
}

/// `record_message_on_sides` is `Conversation::record_message` on each side and `forget_message_on_sides`
/// is `Conversation::forget_message`; `count_unread_after` counts others' visible messages.
pub async fn bulk_operations_keep_unread_counts_and_watermarks(repos: &Repositories) {
    let t = tenant();
    let (a, b, c) = (user_id(), user_id(), user_id());
    let g = conversation_id();
    group_sides(repos, t, g, &[a, b, c], at(0)).await;
    let mut sent = Vec::new();
    for i in 1..=3 {
        sent.push(store_message(repos, &Draft::new(t, g, a, at(i)), &format!("from a {i}")).await);
    }
    sent.push(store_message(repos, &Draft::new(t, g, b, at(4)), "from b").await);

    let (sa, sb, sc) = (side(repos, t, g, a).await, side(repos, t, g, b).await, side(repos, t, g, c).await);
    assert_eq!((sa.unread_count(), sa.read_seq(), sa.delivered_seq()), (1, Seq::new(3), Seq::new(3)));
    assert_eq!((sb.unread_count(), sb.read_seq()), (0, Seq::new(4)), "sending reads the conversation");
    assert_eq!((sc.unread_count(), sc.read_seq(), sc.delivered_seq()), (4, Seq::ZERO, Seq::ZERO));
    let last = sc.last_message().copied().expect("a last message");
    assert_eq!((last.id, last.seq, last.sender, last.at), (sent[3].id(), Seq::new(4), b, at(4)));
    assert_eq!(sc.last_activity_at(), at(4));

    let mut erased = sent[1].clone();
    erased.erase(at(5)).unwrap();
    let counts = commit(repos, move |tx| {
        Box::pin(async move {
            tx.update_message(&erased).await?;
            tx.forget_message_on_sides(t, g, erased.seq(), erased.sender()).await?;
            Ok::<_, WorkError>((
                tx.count_unread_after(t, g, c, Seq::ZERO).await?,
                tx.count_unread_after(t, g, c, Seq::new(2)).await?,
                tx.count_unread_after(t, g, a, Seq::ZERO).await?,
                tx.count_unread_after(t, g, b, Seq::ZERO).await?,
            ))
        })
    })
    .await
    .value;
    assert_eq!(counts, (3, 2, 1, 2), "(c from 0, c after 2, a from 0, b from 0)");
    assert_eq!(side(repos, t, g, c).await.unread_count(), 3);
    assert_eq!(side(repos, t, g, a).await.unread_count(), 1, "the sender's side does not forget its own");

    let read = commit(repos, move |tx| {
        Box::pin(async move {
            let mut s = tx.conversation(t, g, c).await?.expect("c's side");
            let after = tx.count_unread_after(t, g, c, Seq::new(3)).await?;
            let moved = s.mark_read_up_to(Seq::new(3), after, at(6));
            tx.save_conversation(&s).await?;
            Ok::<_, WorkError>(moved)
        })
    })
    .await
    .value;
    assert!(read);
    let sc = side(repos, t, g, c).await;
    assert_eq!(
        (sc.unread_count(), sc.read_seq(), sc.delivered_seq(), sc.read_at()),
        (1, Seq::new(3), Seq::new(3), Some(at(6)))
    );
}

/// A member who already deleted a message for themselves stopped counting it then, so deleting it for
/// everyone afterwards does not lower their unread count a second time.
pub async fn forgetting_skips_members_who_hid_the_message(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let first = store_message(repos, &Draft::new(t, c, a, at(1)), "one").await;
    store_message(repos, &Draft::new(t, c, a, at(2)), "two").await;
    assert_eq!(side(repos, t, c, b).await.unread_count(), 2);
    let (id, seq) = (first.id(), first.seq());
    commit(repos, move |tx| {
        Box::pin(async move {
            if tx.hide_message(t, b, id).await? {
                let mut s = tx.conversation(t, c, b).await?.expect("b's side");
                s.forget_message(seq, a);
                tx.save_conversation(&s).await?;
            }
            Ok::<_, WorkError>(())
        })
    })
    .await;
    assert_eq!(side(repos, t, c, b).await.unread_count(), 1);
    let mut erased = first.clone();
    erased.erase(at(3)).unwrap();
    commit(repos, move |tx| {
        Box::pin(async move {
            tx.update_message(&erased).await?;
            tx.forget_message_on_sides(t, c, seq, a).await?;
            Ok::<_, WorkError>(())
        })
    })
    .await;
    assert_eq!(side(repos, t, c, b).await.unread_count(), 1, "the second message is still unread");
}

/// The total is the sum of the user's sides' unread counts, in their tenant only.
pub async fn total_unread_sums_every_side(repos: &Repositories) {
    let t = tenant();
    let (u, v, w) = (user_id(), user_id(), user_id());
    let uv = direct_sides(repos, t, u, v, at(0)).await;
    let uw = direct_sides(repos, t, u, w, at(0)).await;
    assert_eq!(repos.conversations.total_unread(t, u).await.unwrap(), 0);
    for i in 1..=2 {
        store_message(repos, &Draft::new(t, uv, v, at(i)), "from v").await;
    }
    for i in 3..=5 {
        store_message(repos, &Draft::new(t, uw, w, at(i)), "from w").await;
    }
    assert_eq!(repos.conversations.total_unread(t, u).await.unwrap(), 5);
    store_message(repos, &Draft::new(t, uw, u, at(6)), "from u").await;
    assert_eq!(repos.conversations.total_unread(t, u).await.unwrap(), 2, "replying reads that conversation");
    assert_eq!(repos.conversations.total_unread(t, v).await.unwrap(), 0);
    assert_eq!(repos.conversations.total_unread(t, w).await.unwrap(), 1);
    assert_eq!(repos.conversations.total_unread(tenant(), u).await.unwrap(), 0);
}

/// Receipts say when each member's watermark first reached a message; reading implies receiving.
pub async fn receipts_come_from_the_receipt_log(repos: &Repositories) {
    let t = tenant();
    let (a, b, c) = (user_id(), user_id(), user_id());
    let g = conversation_id();
    group_sides(repos, t, g, &[a, b, c], at(0)).await;
    for i in 1..=5 {
        store_message(repos, &Draft::new(t, g, a, at(i)), "m").await;
    }
    commit(repos, move |tx| {
        Box::pin(async move {
            tx.record_receipt(t, g, b, ReceiptKind::Delivered, Seq::new(3), at(10)).await?;
            tx.record_receipt(t, g, b, ReceiptKind::Read, Seq::new(2), at(20)).await?;
            tx.record_receipt(t, g, c, ReceiptKind::Read, Seq::new(4), at(15)).await?;
            tx.record_receipt(t, g, b, ReceiptKind::Read, Seq::new(5), at(30)).await?;
            Ok::<_, WorkError>(())
        })
    })
    .await;
    let receipt_of = |receipts: &[crate::conversation::MemberReceipt], user| {
        let r = receipts.iter().find(|r| r.user == user).expect("every member has a receipt");
        (r.delivered_at, r.read_at)
    };
    let at3 = repos.conversations.receipts(t, g, Seq::new(3)).await.unwrap();
    assert_eq!(at3.len(), 3);
    assert_eq!(receipt_of(&at3, a), (None, None));
    assert_eq!(receipt_of(&at3, b), (Some(at(10)), Some(at(30))));
    assert_eq!(receipt_of(&at3, c), (Some(at(15)), Some(at(15))));
    let at1 = repos.conversations.receipts(t, g, Seq::new(1)).await.unwrap();
    assert_eq!(receipt_of(&at1, b), (Some(at(10)), Some(at(20))));
    let at5 = repos.conversations.receipts(t, g, Seq::new(5)).await.unwrap();
    assert_eq!(receipt_of(&at5, b), (Some(at(30)), Some(at(30))));
    assert_eq!(receipt_of(&at5, c), (None, None));
    assert!(repos.conversations.receipts(tenant(), g, Seq::new(1)).await.unwrap().is_empty());
}

/// Purging removes sides, group, messages (and their idempotency keys), reactions, hidden marks,
/// receipts and the counter; recorded events stay, and other conversations are untouched.
pub async fn purge_removes_everything_of_a_conversation(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let details = GroupDetails::parse("Doomed", None, None).unwrap();
    let group = ChatGroup::create(t, conversation_id(), a, details, &[b], 10, at(0)).unwrap();
    let g = group.id();
    group_sides(repos, t, g, &[a, b], at(0)).await;
    let keep = direct_sides(repos, t, a, b, at(0)).await;
    let kept = store_message(repos, &Draft::new(t, keep, a, at(1)), "kept").await;
    let mut draft = Draft::new(t, g, a, at(2));
    draft.key = Some(key("purged-key"));
    let m = store_message(repos, &draft, "purged").await;
    let (id, saved_group) = (m.id(), group.clone());
    commit(repos, move |tx| {
        Box::pin(async move {
            tx.save_group(&saved_group).await?;
            tx.hide_message(t, b, id).await?;
            let like = Emoji::parse("👍")?;
            tx.add_reaction(&Reaction { tenant: t, message: id, user: b, emoji: like, at: at(3) }).await?;
            tx.record_receipt(t, g, b, ReceiptKind::Read, Seq::new(1), at(3)).await?;
            tx.record_event(t, &[a, b], crate::event::DomainEvent::ConversationUpdated { conversation: g }, at(3))
                .await?;
            Ok::<_, WorkError>(())
        })
    })
    .await;
    assert!(repos.groups.find(t, g).await.unwrap().is_some());

    let last = commit(repos, move |tx| {
        Box::pin(async move {
            tx.purge_conversation(t, g).await?;
            Ok::<_, WorkError>((tx.last_seq(t, g).await?, tx.conversation_members(t, g).await?))
        })
    })
    .await
    .value;
    assert_eq!(last, (Seq::ZERO, Vec::new()));
    assert!(repos.conversations.sides(t, g).await.unwrap().is_empty());
    assert_eq!(repos.conversations.member_count(t, g).await.unwrap(), 0);
    assert_eq!(repos.groups.find(t, g).await.unwrap(), None);
    assert_eq!(repos.messages.find(t, id).await.unwrap(), None);
    assert_eq!(repos.messages.find_by_client_id(t, a, &key("purged-key")).await.unwrap(), None);
    assert!(repos.messages.reactions(t, &[id]).await.unwrap().is_empty());
    assert!(repos.conversations.receipts(t, g, Seq::new(1)).await.unwrap().is_empty());
    let page = MessagePageQuery::all(t, g, a, PageOrder::OldestFirst, 10);
    assert!(repos.messages.page(&page).await.unwrap().is_empty());
    assert_eq!(repos.events.after(t, b, crate::ids::EventSeq::ZERO, 10).await.unwrap().len(), 1, "events stay");

    assert_eq!(repos.messages.find(t, kept.id()).await.unwrap(), Some(kept));
    assert_eq!(repos.conversations.member_count(t, keep).await.unwrap(), 2);
    let list = ConversationListQuery { tenant: t, user: a, include_archived: true, before: None, limit: 10 };
    let listed: Vec<ConversationId> =
        repos.conversations.list(&list).await.unwrap().iter().map(Conversation::id).collect();
    assert_eq!(listed, vec![keep]);

    let mut reuse = Draft::new(t, g, a, at(4));
    reuse.key = Some(key("purged-key"));
    group_sides(repos, t, g, &[a], at(4)).await;
    let again = store_message(repos, &reuse, "after purge").await;
    assert_eq!(again.seq(), Seq::new(1), "the counter starts again after a purge");
}
