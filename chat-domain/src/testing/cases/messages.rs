//! Messages: lookups, history pages, idempotency keys, reactions, "delete for me" and search.

use crate::Repositories;
use crate::conversation::Conversation;
use crate::error::{RepositoryError, WorkError};
use crate::ids::{MessageId, Seq};
use crate::message::{Emoji, Message, MessagePageQuery, MessageSearchQuery, PageOrder, Reaction};

use super::super::fixtures::{
    Draft, at, commit, conversation_id, direct_sides, key, refused, sorted, store_message, tenant, user_id,
};

fn page_query(draft: &Draft, viewer: crate::ids::UserId, order: PageOrder, limit: usize) -> MessagePageQuery {
    MessagePageQuery::all(draft.tenant, draft.conversation, viewer, order, limit)
}

fn seqs(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|m| m.seq().value()).collect()
}

fn ids(messages: &[Message]) -> Vec<MessageId> {
    sorted(messages.iter().map(Message::id).collect())
}

/// A stored message comes back whole by id, in bulk (missing ids left out) and by its idempotency key.
pub async fn messages_are_found_by_id_and_by_client_id(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let mut draft = Draft::new(t, c, a, at(1));
    draft.key = Some(key("k-1"));
    let first = store_message(repos, &draft, "first").await;
    let second = store_message(repos, &Draft::new(t, c, b, at(2)), "second").await;
    assert_eq!((first.seq(), second.seq()), (Seq::new(1), Seq::new(2)));

    assert_eq!(repos.messages.find(t, first.id()).await.unwrap(), Some(first.clone()));
    assert_eq!(repos.messages.find(t, MessageId::new_at(at(3))).await.unwrap(), None);
    let many = repos.messages.find_many(t, &[first.id(), MessageId::new_at(at(4)), second.id()]).await.unwrap();
    assert_eq!(ids(&many), sorted(vec![first.id(), second.id()]));
    assert_eq!(repos.messages.find_by_client_id(t, a, &key("k-1")).await.unwrap(), Some(first));
    assert_eq!(repos.messages.find_by_client_id(t, b, &key("k-1")).await.unwrap(), None);
    assert_eq!(repos.messages.find_by_client_id(t, a, &key("k-2")).await.unwrap(), None);
}

/// Pages follow `seq` in either order and honour `before`, `after`, `from`/`to` (inclusive) and `limit`.
pub async fn history_pages_follow_order_cursors_time_range_and_limit(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    for i in 1..=5 {
        store_message(repos, &Draft::new(t, c, if i % 2 == 0 { b } else { a }, at(i)), &format!("m{i}")).await;
    }
    let draft = Draft::new(t, c, a, at(0));
    let newest = repos.messages.page(&page_query(&draft, a, PageOrder::NewestFirst, 3)).await.unwrap();
    assert_eq!(seqs(&newest), vec![5, 4, 3]);
    assert_eq!(newest[0].text().map(|x| x.as_str()), Some("m5"));

    let q = MessagePageQuery { before: Some(Seq::new(3)), ..page_query(&draft, a, PageOrder::NewestFirst, 10) };
    assert_eq!(seqs(&repos.messages.page(&q).await.unwrap()), vec![2, 1]);

    let q = MessagePageQuery { after: Seq::new(2), ..page_query(&draft, b, PageOrder::OldestFirst, 2) };
    assert_eq!(seqs(&repos.messages.page(&q).await.unwrap()), vec![3, 4]);

    let q = MessagePageQuery {
        after: Seq::new(1),
        before: Some(Seq::new(5)),
        ..page_query(&draft, a, PageOrder::OldestFirst, 10)
    };
    assert_eq!(seqs(&repos.messages.page(&q).await.unwrap()), vec![2, 3, 4]);

    let q =
        MessagePageQuery { from: Some(at(2)), to: Some(at(4)), ..page_query(&draft, a, PageOrder::OldestFirst, 10) };
    assert_eq!(seqs(&repos.messages.page(&q).await.unwrap()), vec![2, 3, 4]);
    let q = MessagePageQuery { from: Some(at(2)), to: Some(at(4)), ..page_query(&draft, a, PageOrder::NewestFirst, 2) };
    assert_eq!(seqs(&repos.messages.page(&q).await.unwrap()), vec![4, 3]);

    let all = repos.messages.page(&page_query(&draft, a, PageOrder::OldestFirst, 100)).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3, 4, 5]);
    let other = Draft::new(t, conversation_id(), a, at(0));
    assert!(repos.messages.page(&page_query(&other, a, PageOrder::OldestFirst, 100)).await.unwrap().is_empty());
}

/// A repeated (tenant, sender, client message id) is a `Conflict` and rolls its unit back (the counter
/// included); the same key from another sender or in another tenant is fine.
pub async fn client_message_id_is_unique_per_tenant_and_sender(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let mut draft = Draft::new(t, c, a, at(1));
    draft.key = Some(key("same"));
    let original = store_message(repos, &draft, "original").await;

    let duplicate = draft.to_new_message("duplicate");
    let err = refused(repos, move |tx| {
        Box::pin(async move {
            let seq = tx.next_seq(duplicate.tenant, duplicate.conversation).await?;
            tx.insert_message(&duplicate.into_message(seq)).await?;
            Ok::<_, WorkError>(())
        })
    })
    .await;
    assert!(matches!(err, WorkError::Repository(RepositoryError::Conflict(_))), "got {err:?}");
    assert_eq!(repos.messages.find_by_client_id(t, a, &key("same")).await.unwrap(), Some(original));

    let mut from_b = Draft::new(t, c, b, at(2));
    from_b.key = Some(key("same"));
    let by_b = store_message(repos, &from_b, "from b").await;
    assert_eq!(by_b.seq(), Seq::new(2), "the refused unit must not have advanced the counter");

    let t2 = tenant();
    let c2 = direct_sides(repos, t2, a, b, at(0)).await;
    let mut elsewhere = Draft::new(t2, c2, a, at(3));
    elsewhere.key = Some(key("same"));
    let other_tenant = store_message(repos, &elsewhere, "other tenant").await;
    assert_eq!(repos.messages.find_by_client_id(t2, a, &key("same")).await.unwrap(), Some(other_tenant));
}

/// Adding a reaction twice adds it once; removing it twice removes it once.
pub async fn reactions_are_added_and_removed_idempotently(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let m = store_message(repos, &Draft::new(t, c, a, at(1)), "react to me").await;
    let other = store_message(repos, &Draft::new(t, c, a, at(2)), "not me").await;
    let (like, heart) = (Emoji::parse("👍").unwrap(), Emoji::parse(":heart:").unwrap());
    let reaction = |user, emoji: &Emoji| Reaction { tenant: t, message: m.id(), user, emoji: emoji.clone(), at: at(3) };
    let (r1, r2, r3) = (reaction(b, &like), reaction(b, &heart), reaction(a, &like));
    let added = commit(repos, move |tx| {
        Box::pin(async move {
            Ok::<_, WorkError>(vec![
                tx.add_reaction(&r1).await?,
                tx.add_reaction(&r1).await?,
                tx.add_reaction(&r2).await?,
                tx.add_reaction(&r3).await?,
            ])
        })
    })
    .await
    .value;
    assert_eq!(added, vec![true, false, true, true]);
    let key_of = |r: &Reaction| (r.user, r.emoji.clone());
    let found = repos.messages.reactions(t, &[m.id(), other.id()]).await.unwrap();
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|r| r.message == m.id() && r.tenant == t));
    assert_eq!(
        sorted(found.iter().map(key_of).collect()),
        sorted(vec![(b, like.clone()), (b, heart.clone()), (a, like.clone())])
    );

    let (id, like2) = (m.id(), like.clone());
    let removed = commit(repos, move |tx| {
        Box::pin(async move {
            Ok::<_, WorkError>(vec![
                tx.remove_reaction(t, id, b, &like2).await?,
                tx.remove_reaction(t, id, b, &like2).await?,
            ])
        })
    })
    .await
    .value;
    assert_eq!(removed, vec![true, false]);
    let left = repos.messages.reactions(t, &[m.id()]).await.unwrap();
    assert_eq!(sorted(left.iter().map(key_of).collect()), sorted(vec![(b, heart), (a, like)]));
    assert!(repos.messages.reactions(t, &[other.id()]).await.unwrap().is_empty());
}

/// "Delete for me" hides a message from that member's pages only, and says whether it was visible.
pub async fn hidden_messages_leave_only_the_hiders_view(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let mut stored = Vec::new();
    for i in 1..=3 {
        stored.push(store_message(repos, &Draft::new(t, c, a, at(i)), &format!("m{i}")).await);
    }
    let hidden = stored[1].id();
    let results = commit(repos, move |tx| {
        Box::pin(async move {
            Ok::<_, WorkError>((tx.hide_message(t, b, hidden).await?, tx.hide_message(t, b, hidden).await?))
        })
    })
    .await
    .value;
    assert_eq!(results, (true, false));
    let draft = Draft::new(t, c, a, at(0));
    let for_b = repos.messages.page(&page_query(&draft, b, PageOrder::OldestFirst, 10)).await.unwrap();
    assert_eq!(seqs(&for_b), vec![1, 3]);
    let for_a = repos.messages.page(&page_query(&draft, a, PageOrder::NewestFirst, 10)).await.unwrap();
    assert_eq!(seqs(&for_a), vec![3, 2, 1]);
    assert!(repos.messages.find(t, hidden).await.unwrap().is_some(), "hiding does not delete the message");
}

/// Search finds messages containing every word, case-insensitively, newest first among equals, only in
/// the viewer's conversations, and never messages deleted for everyone, hidden by the viewer or cleared.
pub async fn search_matches_all_words_in_the_viewers_conversations(repos: &Repositories) {
    let t = tenant();
    let (u, v, w) = (user_id(), user_id(), user_id());
    let uv = direct_sides(repos, t, u, v, at(0)).await;
    let uw = direct_sides(repos, t, u, w, at(0)).await;
    let vw = direct_sides(repos, t, v, w, at(0)).await;
    let old = store_message(repos, &Draft::new(t, uv, v, at(1)), "hello world").await;
    let only_hello = store_message(repos, &Draft::new(t, uv, u, at(2)), "hello there").await;
    let mixed_case = store_message(repos, &Draft::new(t, uv, v, at(3)), "the WORLD says Hello").await;
    let deleted = store_message(repos, &Draft::new(t, uv, v, at(4)), "hello world deleted").await;
    let hidden = store_message(repos, &Draft::new(t, uv, v, at(5)), "hello world hidden").await;
    let newer = store_message(repos, &Draft::new(t, uw, w, at(6)), "hello world").await;
    store_message(repos, &Draft::new(t, vw, v, at(7)), "hello world not for u").await;

    let mut erased = deleted.clone();
    erased.erase(at(8)).unwrap();
    let hidden_id = hidden.id();
    commit(repos, move |tx| {
        Box::pin(async move {
            tx.update_message(&erased).await?;
            tx.hide_message(t, u, hidden_id).await?;
            Ok::<_, WorkError>(())
        })
    })
    .await;

    let query = |text: &str| MessageSearchQuery {
        tenant: t,
        viewer: u,
        text: text.to_owned(),
        conversation: None,
        offset: 0,
        limit: 20,
    };
    let found = repos.messages.search(&query("hello world")).await.unwrap();
    assert_eq!(ids(&found), sorted(vec![old.id(), mixed_case.id(), newer.id()]));
    let same_text: Vec<MessageId> =
        found.iter().filter(|m| m.text().map(|x| x.as_str()) == Some("hello world")).map(Message::id).collect();
    assert_eq!(same_text, vec![newer.id(), old.id()], "equal matches come newest first");

    let found = repos.messages.search(&query("HELLO")).await.unwrap();
    assert_eq!(ids(&found), sorted(vec![old.id(), only_hello.id(), mixed_case.id(), newer.id()]));

    let in_uv = MessageSearchQuery { conversation: Some(uv), ..query("world") };
    assert_eq!(ids(&repos.messages.search(&in_uv).await.unwrap()), sorted(vec![old.id(), mixed_case.id()]));

    let first = repos.messages.search(&MessageSearchQuery { limit: 1, ..query("hello world") }).await.unwrap();
    let rest = repos.messages.search(&MessageSearchQuery { offset: 1, ..query("hello world") }).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(rest.len(), 2);
    assert!(!rest.iter().any(|m| m.id() == first[0].id()), "offset skips the first results");

    let cleared = commit(repos, move |tx| {
        Box::pin(async move {
            let mut side: Conversation = tx.conversation(t, uw, u).await?.expect("u's side");
            side.clear(at(9));
            tx.save_conversation(&side).await?;
            Ok::<_, WorkError>(side.cleared_seq())
        })
    })
    .await
    .value;
    assert_eq!(cleared, Seq::new(1));
    assert_eq!(
        ids(&repos.messages.search(&query("hello world")).await.unwrap()),
        sorted(vec![old.id(), mixed_case.id()])
    );
    let for_w = MessageSearchQuery { viewer: w, ..query("hello world") };
    assert_eq!(repos.messages.search(&for_w).await.unwrap().len(), 2, "w sees its own two conversations");
    assert!(repos.messages.search(&query("nowhere")).await.unwrap().is_empty());
}
