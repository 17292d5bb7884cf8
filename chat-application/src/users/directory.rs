//! The [`UserDirectory`] port: the embedding application's own user store, asked about users the chat has
//! never seen (after ABP's `IUserLookupService`).
//!
//! The chat keeps its own copy of each user (`ChatUser`), refreshed from the caller on every authenticated
//! call or pushed with [`ChatUserAppService::upsert_user`](crate::ChatUserAppService::upsert_user). A user
//! who never used the chat has no copy yet, so starting a conversation with them, or adding them to a
//! group, would answer `chat.not_found`. With a directory, the chat asks it on such a miss, stores the copy
//! and carries on; without one ([`NoUserDirectory`], the default) the chat knows only the users it has
//! seen.
//!
//! The directory is consulted only on a miss, never on the hot path, and only for users the chat has no
//! copy of: once a copy exists, the chat's copy wins (a user the application deactivated in the chat stays
//! inactive even though the directory still knows them).

use async_trait::async_trait;
use chat_domain::text::PersonName;
use chat_domain::user::ChatUser;
use chat_domain::{DomainError, RepositoryError, TenantId, UserId};

use crate::core::Core;
use crate::error::AppError;

/// A user as the embedding application describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// Login name (required).
    pub user_name: String,
    /// Given name.
    pub name: Option<String>,
    /// Family name.
    pub surname: Option<String>,
}

/// Why the directory could not answer (its database is down, …). The chat answers `chat.internal`.
#[derive(Debug, thiserror::Error)]
#[error("user directory failed: {0}")]
pub struct DirectoryError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl DirectoryError {
    /// Wraps any error.
    pub fn new<E: Into<Box<dyn std::error::Error + Send + Sync>>>(error: E) -> Self {
        Self(error.into())
    }
}

impl From<DirectoryError> for AppError {
    fn from(error: DirectoryError) -> Self {
        AppError::Internal { source: RepositoryError::Storage(error.0) }
    }
}

/// The embedding application's users, looked up by id within a tenant.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user `id` of `tenant`, or `None` if the application does not know them (or they may not chat).
    /// Must never return a user of another tenant.
    async fn find_user(&self, tenant: TenantId, id: UserId) -> Result<Option<DirectoryUser>, DirectoryError>;
}

/// The default directory: knows nobody, so the chat knows only the users who called it or were upserted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUserDirectory;

#[async_trait]
impl UserDirectory for NoUserDirectory {
    async fn find_user(&self, _tenant: TenantId, _id: UserId) -> Result<Option<DirectoryUser>, DirectoryError> {
        Ok(None)
    }
}

/// Validates names that come from outside the chat (token claims, the embedding application's directory).
/// NUL characters, which text storage refuses, are dropped rather than locking the user out.
pub(crate) fn external_name(
    user_name: &str,
    name: Option<&str>,
    surname: Option<&str>,
) -> Result<PersonName, DomainError> {
    let clean = |n: &str| n.replace('\0', "");
    PersonName::parse(&clean(user_name), name.map(clean).as_deref(), surname.map(clean).as_deref())
}

/// Copies into the chat those of `ids` it has no copy of and the directory knows. Returns whether it
/// copied anyone (so that the caller knows a retry can succeed). Users the chat already has, active or
/// not, are left alone.
pub(crate) async fn import_unknown_users(core: &Core, tenant: TenantId, ids: &[UserId]) -> Result<bool, AppError> {
    let users = &core.repos.users;
    let known = users.find_many(tenant, ids).await?;
    let mut imported = false;
    for &id in ids.iter().filter(|id| !known.iter().any(|u| u.id() == **id)) {
        let Some(found) = core.directory.find_user(tenant, id).await? else { continue };
        let name = external_name(&found.user_name, found.name.as_deref(), found.surname.as_deref())?;
        users.upsert(&ChatUser::new(tenant, id, name, core.now())).await?;
        imported = true;
    }
    Ok(imported)
}

/// Runs `op`; if it fails because a user is unknown and the directory supplies one of `ids` the chat had
/// no copy of, runs it once more. The conversation service's send and open-direct loops also retry a
/// `Conflict` (two racing first messages), so they call [`import_unknown_users`] from their own loop.
pub(crate) async fn retry_with_directory<T, Fut>(
    core: &Core,
    tenant: TenantId,
    ids: &[UserId],
    mut op: impl FnMut() -> Fut,
) -> Result<T, AppError>
where
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    match op().await {
        Err(AppError::NotFound { resource: "user" }) if import_unknown_users(core, tenant, ids).await? => op().await,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chat_domain::memory::InMemoryChatStore;
    use chat_domain::{Repositories, TenantId, UserId};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn names_from_outside_lose_their_nul_characters() {
        let name = external_name("al\0ice", Some("Al\0"), Some("\0")).expect("valid once cleaned");
        assert_eq!(name, PersonName::parse("alice", Some("Al"), None).expect("valid"));
    }
    use crate::dto::{
        AddGroupMembersInput, CreateGroupInput, GetDirectConversationInput, OpenDirectConversationInput,
        SendMessageInput, UpsertChatUserInput,
    };
    use crate::{CallerContext, ChatModule, UnlimitedRateLimiter};

    /// The host application's user table, counting lookups; `broken` makes every lookup fail.
    #[derive(Default)]
    struct HostUsers {
        users: HashMap<(TenantId, UserId), DirectoryUser>,
        lookups: AtomicUsize,
        broken: bool,
    }

    #[async_trait]
    impl UserDirectory for HostUsers {
        async fn find_user(&self, tenant: TenantId, id: UserId) -> Result<Option<DirectoryUser>, DirectoryError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if self.broken {
                return Err(DirectoryError::new("the host's user database is down"));
            }
            Ok(self.users.get(&(tenant, id)).cloned())
        }
    }

    fn id() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn person(user_name: &str) -> DirectoryUser {
        DirectoryUser { user_name: user_name.into(), name: Some(user_name.to_uppercase()), surname: None }
    }

    /// A module whose directory knows `known` (in the host tenant), and a synced caller.
    async fn module(known: &[(UserId, &str)], broken: bool) -> (ChatModule, Arc<HostUsers>, CallerContext) {
        let users = known.iter().map(|(id, name)| ((TenantId::HOST, *id), person(name))).collect();
        let directory = Arc::new(HostUsers { users, broken, ..HostUsers::default() });
        let chat = ChatModule::builder(Repositories::from_store(Arc::new(InMemoryChatStore::new())))
            .rate_limiter(Arc::new(UnlimitedRateLimiter))
            .user_directory(directory.clone())
            .build();
        let alice = CallerContext::new(TenantId::HOST, id()).with_names("alice", None, None);
        chat.users().sync_caller(&alice).await.unwrap();
        (chat, directory, alice)
    }

    fn message_to(user: UserId) -> SendMessageInput {
        SendMessageInput { target_user_id: Some(user.as_uuid()), text: "hi".into(), ..Default::default() }
    }

    #[tokio::test]
    async fn a_user_known_only_to_the_directory_can_be_messaged_and_is_copied_once() {
        let bob = id();
        let (chat, directory, alice) = module(&[(bob, "bob")], false).await;
        let sent = chat.conversations().send_message(&alice, message_to(bob)).await.unwrap();
        assert_eq!(sent.seq, 1);
        let copy = chat.users().get_user(&alice, bob).await.unwrap();
        assert_eq!((copy.user_name.as_str(), copy.name.as_deref(), copy.active), ("bob", Some("BOB"), true));
        assert_eq!(directory.lookups.load(Ordering::SeqCst), 1);
        // Once copied, the chat's own copy answers: the directory is not asked again.
        chat.conversations().send_message(&alice, message_to(bob)).await.unwrap();
        assert_eq!(directory.lookups.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn direct_conversations_and_groups_look_up_unknown_users() {
        let (bob, carol, dave) = (id(), id(), id());
        let (chat, _, alice) = module(&[(bob, "bob"), (carol, "carol"), (dave, "dave")], false).await;
        let direct = chat
            .conversations()
            .get_direct_conversation(&alice, bob, GetDirectConversationInput::default())
            .await
            .unwrap();
        assert_eq!(direct.target_user.user_name, "bob");
        assert!(direct.conversation.is_none());
        let opened = chat
            .conversations()
            .open_direct_conversation(&alice, OpenDirectConversationInput { target_user_id: carol.as_uuid() })
            .await
            .unwrap();
        assert_eq!(opened.target_user_id, Some(carol.as_uuid()));
        let group = chat
            .groups()
            .create_group(
                &alice,
                CreateGroupInput { name: "team".into(), member_ids: vec![dave.as_uuid()], ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(group.member_count, 2);
        let newcomer = id();
        let err = chat
            .groups()
            .add_members(
                &alice,
                chat_domain::ConversationId::from_uuid(group.id),
                AddGroupMembersInput { user_ids: vec![newcomer.as_uuid()] },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "chat.not_found", "a user nobody knows is still not found");
    }

    #[tokio::test]
    async fn unknown_users_stay_not_found_and_deactivated_copies_win_over_the_directory() {
        let bob = id();
        let (chat, directory, alice) = module(&[(bob, "bob")], false).await;
        let stranger = id();
        let err = chat.conversations().send_message(&alice, message_to(stranger)).await.unwrap_err();
        assert_eq!(err.code(), "chat.not_found");
        // The application deactivated bob in the chat: the directory is not asked, bob stays unreachable.
        chat.users()
            .upsert_user(UpsertChatUserInput {
                tenant_id: None,
                user_id: bob.as_uuid(),
                user_name: "bob".into(),
                name: None,
                surname: None,
                active: false,
            })
            .await
            .unwrap();
        let before = directory.lookups.load(Ordering::SeqCst);
        let err = chat.conversations().send_message(&alice, message_to(bob)).await.unwrap_err();
        assert_eq!(err.code(), "chat.not_found");
        assert_eq!(directory.lookups.load(Ordering::SeqCst), before);
    }

    #[tokio::test]
    async fn the_directory_is_asked_within_the_callers_tenant_only() {
        let bob = id();
        let (chat, _, _) = module(&[(bob, "bob")], false).await;
        let other = CallerContext::new(TenantId::from_uuid(Uuid::new_v4()), id()).with_names("eve", None, None);
        chat.users().sync_caller(&other).await.unwrap();
        let err = chat.conversations().send_message(&other, message_to(bob)).await.unwrap_err();
        assert_eq!(err.code(), "chat.not_found");
    }

    #[tokio::test]
    async fn a_failing_directory_is_an_internal_error_not_a_missing_user() {
        let (chat, _, alice) = module(&[], true).await;
        let err = chat.conversations().send_message(&alice, message_to(id())).await.unwrap_err();
        assert_eq!(err.code(), "chat.internal");
    }

    #[tokio::test]
    async fn the_default_directory_knows_nobody() {
        assert_eq!(NoUserDirectory.find_user(TenantId::HOST, id()).await.ok(), Some(None));
    }
}
