//! The single-row ports: settings, attachments, users, and groups with their members.

use crate::Repositories;
use crate::attachment::{Attachment, NewAttachment};
use crate::error::WorkError;
use crate::group::{ChatGroup, GroupDetails, GroupMemberPageQuery, GroupRole};
use crate::ids::{AttachmentId, MessageId, UserId};
use crate::settings::{MessageDeletion, TenantSettings, UserSettings};
use crate::text::PersonName;
use crate::user::{ChatUser, UserSearchQuery};

use super::super::fixtures::{at, commit, conversation_id, sorted, tenant, user_id};

/// Unsaved settings read as the defaults; saved ones come back, per tenant and per user.
pub async fn settings_have_defaults_and_are_saved(repos: &Repositories) {
    let (t, other) = (tenant(), tenant());
    let (u, v) = (user_id(), user_id());
    assert_eq!(repos.settings.tenant(t).await.unwrap(), TenantSettings::default());
    assert_eq!(repos.settings.user(t, u).await.unwrap(), UserSettings::default());
    let strict = TenantSettings {
        deleting_messages: MessageDeletion::EnabledWithDeletionPeriod,
        message_deletion_period: 60,
        search_other_contacts: false,
        edit_window: 300,
        ..TenantSettings::default()
    };
    repos.settings.save_tenant(t, &strict).await.unwrap();
    repos.settings.save_user(t, u, &UserSettings { send_on_enter: false }).await.unwrap();
    assert_eq!(repos.settings.tenant(t).await.unwrap(), strict);
    assert_eq!(repos.settings.user(t, u).await.unwrap(), UserSettings { send_on_enter: false });
    assert_eq!(repos.settings.user(t, v).await.unwrap(), UserSettings::default());
    assert_eq!(repos.settings.tenant(other).await.unwrap(), TenantSettings::default());
    assert_eq!(repos.settings.user(other, u).await.unwrap(), UserSettings::default());
    let relaxed = TenantSettings { chat_enabled: false, ..strict };
    repos.settings.save_tenant(t, &relaxed).await.unwrap();
    assert_eq!(repos.settings.tenant(t).await.unwrap(), relaxed);
}

/// An upload is recorded, found in its tenant only, and remembers the message that carries it.
pub async fn attachments_are_recorded_and_attached(repos: &Repositories) {
    let t = tenant();
    let uploader = user_id();
    let upload = Attachment::new(NewAttachment {
        tenant: t,
        id: AttachmentId::new_at(at(1)),
        uploader,
        file_name: "photo.png".to_owned(),
        mime_type: "image/png".to_owned(),
        size: 1234,
        blob_key: "blobs/photo".to_owned(),
        created_at: at(1),
    })
    .unwrap();
    repos.attachments.insert(&upload).await.unwrap();
    assert_eq!(repos.attachments.find(t, upload.id()).await.unwrap(), Some(upload.clone()));
    assert_eq!(repos.attachments.find(tenant(), upload.id()).await.unwrap(), None);
    assert_eq!(repos.attachments.find(t, AttachmentId::new_at(at(2))).await.unwrap(), None);

    let (id, message, conversation) = (upload.id(), MessageId::new_at(at(2)), conversation_id());
    let attached = commit(repos, move |tx| {
        Box::pin(async move {
            let mut found = tx.attachment(t, id).await?.expect("the upload");
            found.ensure_attachable_by(uploader)?;
            found.attach_to(message, conversation);
            tx.save_attachment(&found).await?;
            Ok::<_, WorkError>(found)
        })
    })
    .await
    .value;
    let stored = repos.attachments.find(t, id).await.unwrap().expect("still there");
    assert_eq!(stored, attached);
    assert_eq!((stored.parts().message, stored.parts().conversation), (Some(message), Some(conversation)));
    assert!(stored.ensure_attachable_by(uploader).is_err(), "a carried attachment cannot be attached again");
}

/// Users are upserted, found one by one or several at a time (missing left out), and searched: active
/// only, case-insensitive on user name, name or surname, ordered by id with a keyset cursor.
pub async fn users_are_found_and_searched(repos: &Repositories) {
    let t = tenant();
    let person = |u: &str, n: Option<&str>, s: Option<&str>| PersonName::parse(u, n, s).unwrap();
    let alice = ChatUser::new(t, user_id(), person("alice", Some("Alice"), Some("Liddell")), at(0));
    let bob = ChatUser::new(t, user_id(), person("bob", Some("Robert"), Some("Alistair")), at(0));
    let carol = ChatUser::new(t, user_id(), person("carol", None, None), at(0));
    let mut gone = ChatUser::new(t, user_id(), person("alina", None, None), at(0));
    gone.refresh(person("alina", None, None), false, at(1));
    for user in [&alice, &bob, &carol, &gone] {
        repos.users.upsert(user).await.unwrap();
    }
    assert_eq!(repos.users.find(t, alice.id()).await.unwrap(), Some(alice.clone()));
    assert_eq!(repos.users.find(tenant(), alice.id()).await.unwrap(), None);
    let many = repos.users.find_many(t, &[alice.id(), user_id(), carol.id()]).await.unwrap();
    assert_eq!(sorted(many.iter().map(ChatUser::id).collect()), sorted(vec![alice.id(), carol.id()]));

    let search = |filter: Option<&str>, after: Option<UserId>, limit| UserSearchQuery {
        tenant: t,
        filter: filter.map(str::to_owned),
        after,
        limit,
    };
    let ids = |users: Vec<ChatUser>| users.iter().map(ChatUser::id).collect::<Vec<_>>();
    let everyone = ids(repos.users.search(&search(None, None, 10)).await.unwrap());
    assert_eq!(everyone, sorted(vec![alice.id(), bob.id(), carol.id()]), "active users, by id");
    let ali = ids(repos.users.search(&search(Some("ALI"), None, 10)).await.unwrap());
    assert_eq!(ali, sorted(vec![alice.id(), bob.id()]), "user name, name or surname; not inactive alina");
    let first = ids(repos.users.search(&search(None, None, 1)).await.unwrap());
    assert_eq!(first, vec![everyone[0]]);
    let rest = ids(repos.users.search(&search(None, Some(everyone[0]), 10)).await.unwrap());
    assert_eq!(rest, everyone[1..].to_vec());
    let other_tenant = UserSearchQuery { tenant: tenant(), ..search(None, None, 10) };
    assert!(repos.users.search(&other_tenant).await.unwrap().is_empty());

    let mut renamed = carol.clone();
    assert!(renamed.refresh(person("caroline", None, None), true, at(2)));
    repos.users.upsert(&renamed).await.unwrap();
    assert_eq!(repos.users.find(t, carol.id()).await.unwrap(), Some(renamed));
}

/// A group comes back with all its members and roles; members page by user id; a saved change replaces
/// the member list.
pub async fn groups_are_saved_with_paged_members(repos: &Repositories) {
    let t = tenant();
    let owner = user_id();
    let members: Vec<UserId> = (0..5).map(|_| user_id()).collect();
    let details = GroupDetails::parse("Team", Some("the team"), Some("https://cdn.example/a.png")).unwrap();
    let mut group = ChatGroup::create(t, conversation_id(), owner, details, &members, 100, at(0)).unwrap();
    group.change_role(owner, members[0], GroupRole::Admin, at(1)).unwrap();
    let saved = group.clone();
    commit(repos, move |tx| Box::pin(async move { Ok::<_, WorkError>(tx.save_group(&saved).await?) })).await;
    assert_eq!(repos.groups.find(t, group.id()).await.unwrap(), Some(group.clone()));
    assert_eq!(repos.groups.find(tenant(), group.id()).await.unwrap(), None);

    let mut everyone = members.clone();
    everyone.push(owner);
    everyone.sort();
    let gid = group.id();
    let page = |after, limit| GroupMemberPageQuery { tenant: t, group: gid, after, limit };
    let first = repos.groups.members(&page(None, 4)).await.unwrap();
    assert_eq!(first.iter().map(|m| m.user).collect::<Vec<_>>(), everyone[..4].to_vec());
    let rest = repos.groups.members(&page(Some(everyone[3]), 10)).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.user).collect::<Vec<_>>(), everyone[4..].to_vec());
    let all = repos.groups.members(&page(None, 10)).await.unwrap();
    assert_eq!(all.iter().find(|m| m.user == owner).map(|m| m.role), Some(GroupRole::Owner));
    assert_eq!(
        all.iter().find(|m| m.user == members[0]).map(|m| (m.role, m.joined_at)),
        Some((GroupRole::Admin, at(0)))
    );
    let elsewhere = GroupMemberPageQuery { tenant: tenant(), ..page(None, 10) };
    assert!(repos.groups.members(&elsewhere).await.unwrap().is_empty());

    group.remove_member(owner, members[1], at(2)).unwrap();
    let saved = group.clone();
    commit(repos, move |tx| Box::pin(async move { Ok::<_, WorkError>(tx.save_group(&saved).await?) })).await;
    let found = repos.groups.find(t, group.id()).await.unwrap().expect("the group");
    assert_eq!(found, group);
    assert_eq!(found.role_of(members[1]), None);
    assert_eq!(repos.groups.members(&page(None, 10)).await.unwrap().len(), 5);
}
