//! The unit of work: all or nothing, and a unit sees its own writes.

use crate::Repositories;
use crate::conversation::LastMessage;
use crate::error::{DomainError, WorkError};
use crate::event::DomainEvent;
use crate::ids::{EventSeq, MessageId, Seq};
use crate::message::{Emoji, MessagePageQuery, PageOrder, Reaction};
use crate::text::PersonName;
use crate::user::ChatUser;

use super::super::fixtures::{Draft, at, commit, direct_sides, key, refused, store_message, tenant, user_id};

/// A unit that writes everywhere and then fails leaves nothing: no message, no side change, no counter
/// step, no user, reaction, hidden mark or event; the next unit gets the next `seq` as if it never ran.
pub async fn failed_unit_of_work_leaves_nothing_behind(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let first = store_message(repos, &Draft::new(t, c, a, at(1)), "committed").await;
    let before_b = repos.conversations.find(t, c, b).await.unwrap();
    let window_b = repos.events.window(t, b).await.unwrap();

    let mut draft = Draft::new(t, c, a, at(2));
    draft.key = Some(key("never"));
    let new = draft.to_new_message("rolled back");
    let ghost = ChatUser::new(t, user_id(), PersonName::parse("ghost", None, None).unwrap(), at(2));
    let (ghost_id, first_id) = (ghost.id(), first.id());
    let (new_id, err) = {
        let id = new.id;
        let err = refused(repos, move |tx| {
            Box::pin(async move {
                let seq = tx.next_seq(t, c).await?;
                let message = new.into_message(seq);
                tx.insert_message(&message).await?;
                let last = LastMessage { id: message.id(), seq, sender: a, at: at(2) };
                tx.record_message_on_sides(t, c, &last).await?;
                tx.save_user(&ghost).await?;
                tx.hide_message(t, b, first_id).await?;
                let like = Emoji::parse("👍")?;
                tx.add_reaction(&Reaction { tenant: t, message: first_id, user: b, emoji: like, at: at(2) }).await?;
                tx.record_event(t, &[a, b], DomainEvent::MessageCreated { message: message.to_parts() }, at(2)).await?;
                Err::<(), _>(WorkError::Domain(DomainError::ChatDisabled))
            })
        })
        .await;
        (id, err)
    };
    assert!(matches!(err, WorkError::Domain(DomainError::ChatDisabled)), "the unit's own error comes back: {err:?}");
    assert_eq!(repos.messages.find(t, new_id).await.unwrap(), None);
    assert_eq!(repos.messages.find_by_client_id(t, a, &key("never")).await.unwrap(), None);
    assert_eq!(repos.conversations.find(t, c, b).await.unwrap(), before_b);
    assert_eq!(repos.users.find(t, ghost_id).await.unwrap(), None);
    assert!(repos.messages.reactions(t, &[first_id]).await.unwrap().is_empty());
    assert_eq!(repos.events.window(t, b).await.unwrap(), window_b);
    assert!(repos.events.after(t, a, EventSeq::ZERO, 10).await.unwrap().is_empty());
    let page = MessagePageQuery::all(t, c, b, PageOrder::OldestFirst, 10);
    let visible: Vec<MessageId> = repos.messages.page(&page).await.unwrap().iter().map(|m| m.id()).collect();
    assert_eq!(visible, vec![first_id], "not hidden, and no second message");

    let next = store_message(repos, &Draft::new(t, c, b, at(3)), "next").await;
    assert_eq!(next.seq(), Seq::new(2), "the failed unit's seq was not consumed");
    let mut draft = Draft::new(t, c, a, at(4));
    draft.key = Some(key("never"));
    store_message(repos, &draft, "the key is free").await;
}

/// Inside a unit, reads see the unit's earlier writes (sides, messages, counter, group members).
pub async fn unit_of_work_sees_its_own_writes(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let c = direct_sides(repos, t, a, b, at(0)).await;
    let new = Draft::new(t, c, a, at(1)).to_new_message("seen");
    let seen = commit(repos, move |tx| {
        Box::pin(async move {
            let s1 = tx.next_seq(t, c).await?;
            let s2 = tx.next_seq(t, c).await?;
            let message = new.into_message(s2);
            tx.insert_message(&message).await?;
            let found = tx.message(t, message.id()).await?;
            let last = LastMessage { id: message.id(), seq: s2, sender: a, at: at(1) };
            tx.record_message_on_sides(t, c, &last).await?;
            let side = tx.conversation(t, c, b).await?.expect("b's side");
            let mut muted = side.clone();
            muted.set_muted(true);
            tx.save_conversation(&muted).await?;
            let again = tx.conversation(t, c, b).await?.expect("b's side");
            Ok::<_, WorkError>((
                s1,
                s2,
                found == Some(message),
                side.unread_count(),
                again.is_muted(),
                tx.last_seq(t, c).await?,
            ))
        })
    })
    .await
    .value;
    assert_eq!(seen, (Seq::new(1), Seq::new(2), true, 1, true, Seq::new(2)));
    let after = store_message(repos, &Draft::new(t, c, b, at(2)), "after").await;
    assert_eq!(after.seq(), Seq::new(3));
}
