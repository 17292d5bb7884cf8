//! Tenant isolation: no read crosses a tenant.

use crate::Repositories;
use crate::attachment::{Attachment, NewAttachment};
use crate::conversation::ConversationListQuery;
use crate::error::WorkError;
use crate::group::GroupMemberPageQuery;
use crate::ids::{AttachmentId, EventSeq, Seq};
use crate::message::{Emoji, MessagePageQuery, MessageSearchQuery, PageOrder};
use crate::messaging::{Actor, MessagingManager, SendTarget};
use crate::settings::{TenantSettings, UserSettings};
use crate::user::UserSearchQuery;

use super::super::fixtures::{at, commit, create_group, key, seed_users, send, send_cmd, tenant};

/// Everything stored in one tenant is invisible from another, even when asked for by the same ids:
/// users, sides, lists, messages, pages, search, reactions, receipts, groups, attachments, settings,
/// events, totals, and reads inside a unit of work.
pub async fn another_tenant_sees_nothing(repos: &Repositories) {
    let (t, other) = (tenant(), tenant());
    let users = seed_users(repos, t, 3).await;
    let (u, v, w) = (users[0], users[1], users[2]);
    let mut cmd = send_cmd(t, u, SendTarget::User(v), "hello tenant", at(1));
    cmd.client_message_id = Some(key("tenant-key"));
    let direct = send(repos, cmd).await.value.message;
    let group = create_group(repos, t, u, &[v, w], at(2)).await;
    let in_group =
        send(repos, send_cmd(t, v, SendTarget::Conversation(group.id()), "hello group", at(3))).await.value.message;
    let (gid, mid) = (group.id(), in_group.id());
    commit(repos, move |tx| {
        Box::pin(async move {
            let manager = MessagingManager::default();
            manager.react(tx, Actor { tenant: t, user: u, now: at(4) }, mid, Emoji::parse("👍")?, true).await?;
            manager.mark_read(tx, t, w, gid, None, at(5)).await?;
            Ok::<_, WorkError>(())
        })
    })
    .await;
    let upload = Attachment::new(NewAttachment {
        tenant: t,
        id: AttachmentId::new_at(at(6)),
        uploader: u,
        file_name: "a.pdf".to_owned(),
        mime_type: "application/pdf".to_owned(),
        size: 10,
        blob_key: "k".to_owned(),
        created_at: at(6),
    })
    .unwrap();
    repos.attachments.insert(&upload).await.unwrap();
    repos.settings.save_tenant(t, &TenantSettings { chat_enabled: false, ..TenantSettings::default() }).await.unwrap();
    repos.settings.save_user(t, u, &UserSettings { send_on_enter: false }).await.unwrap();
    // The data is there for its own tenant.
    assert!(repos.messages.find(t, direct.id()).await.unwrap().is_some());
    assert!(repos.conversations.total_unread(t, v).await.unwrap() > 0);
    assert!(!repos.events.after(t, v, EventSeq::ZERO, 10).await.unwrap().is_empty());

    // And nowhere else.
    assert_eq!(repos.users.find(other, u).await.unwrap(), None);
    assert!(repos.users.find_many(other, &users).await.unwrap().is_empty());
    let everyone = UserSearchQuery { tenant: other, filter: None, after: None, limit: 100 };
    assert!(repos.users.search(&everyone).await.unwrap().is_empty());
    for c in [direct.conversation(), gid] {
        assert_eq!(repos.conversations.find(other, c, u).await.unwrap(), None);
        assert!(repos.conversations.sides(other, c).await.unwrap().is_empty());
        assert_eq!(repos.conversations.member_count(other, c).await.unwrap(), 0);
        assert!(repos.conversations.receipts(other, c, Seq::new(1)).await.unwrap().is_empty());
        for viewer in [u, v, w] {
            let page = MessagePageQuery::all(other, c, viewer, PageOrder::NewestFirst, 50);
            assert!(repos.messages.page(&page).await.unwrap().is_empty());
        }
    }
    assert_eq!(repos.conversations.find_direct(other, u, v).await.unwrap(), None);
    for user in [u, v, w] {
        let list = ConversationListQuery { tenant: other, user, include_archived: true, before: None, limit: 50 };
        assert!(repos.conversations.list(&list).await.unwrap().is_empty());
        assert_eq!(repos.conversations.total_unread(other, user).await.unwrap(), 0);
        assert!(repos.events.after(other, user, EventSeq::ZERO, 50).await.unwrap().is_empty());
        assert_eq!(repos.events.window(other, user).await.unwrap(), Default::default());
        let search = MessageSearchQuery {
            tenant: other,
            viewer: user,
            text: "hello".to_owned(),
            conversation: None,
            offset: 0,
            limit: 50,
        };
        assert!(repos.messages.search(&search).await.unwrap().is_empty());
        assert_eq!(repos.settings.user(other, user).await.unwrap(), UserSettings::default());
    }
    assert_eq!(repos.messages.find(other, direct.id()).await.unwrap(), None);
    assert!(repos.messages.find_many(other, &[direct.id(), mid]).await.unwrap().is_empty());
    assert_eq!(repos.messages.find_by_client_id(other, u, &key("tenant-key")).await.unwrap(), None);
    assert!(repos.messages.reactions(other, &[mid]).await.unwrap().is_empty());
    assert_eq!(repos.groups.find(other, gid).await.unwrap(), None);
    let members = GroupMemberPageQuery { tenant: other, group: gid, after: None, limit: 50 };
    assert!(repos.groups.members(&members).await.unwrap().is_empty());
    assert_eq!(repos.attachments.find(other, upload.id()).await.unwrap(), None);
    assert_eq!(repos.settings.tenant(other).await.unwrap(), TenantSettings::default());

    let (dc, did, aid) = (direct.conversation(), direct.id(), upload.id());
    let seen = commit(repos, move |tx| {
        Box::pin(async move {
            Ok::<_, WorkError>(vec![
                tx.user(other, u).await?.is_some(),
                !tx.users(other, &[u, v, w]).await?.is_empty(),
                tx.conversation(other, dc, u).await?.is_some(),
                tx.direct_conversation(other, u, v).await?.is_some(),
                !tx.conversation_members(other, gid).await?.is_empty(),
                tx.group(other, gid).await?.is_some(),
                tx.message(other, did).await?.is_some(),
                tx.message_by_client_id(other, u, &key("tenant-key")).await?.is_some(),
                tx.last_seq(other, dc).await? != Seq::ZERO,
                tx.count_unread_after(other, gid, u, Seq::ZERO).await? != 0,
                tx.attachment(other, aid).await?.is_some(),
            ])
        })
    })
    .await
    .value;
    assert_eq!(seen, vec![false; 11], "a unit of work in another tenant sees nothing either");
    assert!(repos.messages.find(t, did).await.unwrap().is_some());
}
