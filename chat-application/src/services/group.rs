//! Group chats: creation, details, membership and roles.

use std::sync::Arc;

use chat_domain::conversation::ConversationKind;
use chat_domain::group::{ChatGroup, GroupDetails, GroupMemberPageQuery, GroupRole};
use chat_domain::messaging::GroupChange;
use chat_domain::{ConversationId, UserId};

use crate::caller::CallerContext;
use crate::core::Core;
use crate::dto::{
    AddGroupMembersInput, ChangeMemberRoleInput, CreateGroupInput, GetGroupMembersInput, GroupDto, GroupMemberDto,
    GroupRoleDto, PageDto, TransferOwnershipInput, UpdateGroupInput,
};
use crate::error::AppError;
use crate::mapping::{group_dto, member_dto, role_from_dto};
use crate::pagination::{page, page_limit, parse_user};
use crate::rate_limit::RateLimitKind;
use crate::users::retry_with_directory;

/// Group chats. A group is a conversation (same id): messages go through
/// [`ConversationAppService`](crate::ConversationAppService). Non-members (and other tenants) get
/// `chat.not_found`; members whose role does not allow an action get `chat.forbidden`.
#[derive(Clone)]
pub struct GroupAppService {
    core: Arc<Core>,
}

impl std::fmt::Debug for GroupAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupAppService").finish_non_exhaustive()
    }
}

fn details(name: &str, description: Option<&str>, avatar_url: Option<&str>) -> Result<GroupDetails, AppError> {
    Ok(GroupDetails::parse(name, description, avatar_url)?)
}

fn users(ids: &[uuid::Uuid]) -> Vec<UserId> {
    ids.iter().map(|id| UserId::from_uuid(*id)).collect()
}

impl GroupAppService {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// Creates a group owned by the caller, with members who must be active users of the caller's tenant
    /// (at most the configured group size, the owner included). Members get `group.member_added`.
    pub async fn create_group(&self, caller: &CallerContext, input: CreateGroupInput) -> Result<GroupDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let details = details(&input.name, input.description.as_deref(), input.avatar_url.as_deref())?;
        let max = self.core.options.max_group_members;
        if input.member_ids.len() > max {
            return Err(AppError::validation("memberIds", format!("a group may have at most {max} members")));
        }
        let members = users(&input.member_ids);
        let (tenant, user) = (caller.tenant, caller.user);
        let create = || {
            let (manager, details, members, now) =
                (self.core.manager.clone(), details.clone(), members.clone(), self.core.now());
            self.core.commit(move |tx| {
                Box::pin(async move { manager.create_group(tx, tenant, user, details, &members, now).await })
            })
        };
        // Members the chat has never seen: ask the embedding application's directory, once.
        let group = retry_with_directory(&self.core, tenant, &members, create).await?;
        Ok(group_dto(&group))
    }

    /// A group the caller belongs to.
    pub async fn get_group(&self, caller: &CallerContext, id: ConversationId) -> Result<GroupDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let group = self.core.repos.groups.find(caller.tenant, id).await?;
        match group {
            Some(group) if group.role_of(caller.user).is_some() => Ok(group_dto(&group)),
            _ => Err(AppError::not_found("group")),
        }
    }

    async fn change(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        change: GroupChange,
    ) -> Result<Option<ChatGroup>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (manager, tenant, user, now) = (self.core.manager.clone(), caller.tenant, caller.user, self.core.now());
        self.core
            .commit(move |tx| Box::pin(async move { manager.change_group(tx, tenant, user, id, change, now).await }))
            .await
    }

    fn after_change(group: Option<ChatGroup>) -> Result<GroupDto, AppError> {
        group.as_ref().map(group_dto).ok_or(AppError::not_found("group"))
    }

    /// Changes the name, description and avatar (owner or admin); members get `group.updated`.
    pub async fn update_group(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: UpdateGroupInput,
    ) -> Result<GroupDto, AppError> {
        let details = details(&input.name, input.description.as_deref(), input.avatar_url.as_deref())?;
        Self::after_change(self.change(caller, id, GroupChange::Update(details)).await?)
    }

    /// Deletes the group with its messages (owner only); members get `conversation.deleted`.
    pub async fn delete_group(&self, caller: &CallerContext, id: ConversationId) -> Result<(), AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (manager, tenant, user, now) = (self.core.manager.clone(), caller.tenant, caller.user, self.core.now());
        self.core.commit(move |tx| Box::pin(async move { manager.delete_group(tx, tenant, user, id, now).await })).await
    }

    /// A page of members ordered by user id, with roles and names (members only). The cursor is opaque.
    pub async fn get_members(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: GetGroupMembersInput,
    ) -> Result<PageDto<GroupMemberDto>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        let after = input.cursor.as_deref().map(|c| parse_user("cursor", c)).transpose()?;
        let repos = &self.core.repos;
        let side = repos.conversations.find(caller.tenant, id, caller.user).await?;
        if !side.is_some_and(|s| s.kind() == ConversationKind::Group) {
            return Err(AppError::not_found("group"));
        }
        let query = GroupMemberPageQuery { tenant: caller.tenant, group: id, after, limit: limit + 1 };
        let members = repos.groups.members(&query).await?;
        let ids: Vec<UserId> = members.iter().map(|m| m.user).collect();
        let known = if ids.is_empty() { Vec::new() } else { repos.users.find_many(caller.tenant, &ids).await? };
        Ok(page(members, limit, |m| m.user.to_string(), |m| member_dto(&m, known.iter().find(|u| u.id() == m.user))))
    }

    /// Adds members (owner or admin); users already in the group are skipped. New members start at the
    /// group's latest message; everyone gets `group.member_added`.
    pub async fn add_members(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: AddGroupMembersInput,
    ) -> Result<GroupDto, AppError> {
        let max = self.core.options.max_group_members;
        if input.user_ids.is_empty() || input.user_ids.len() > max {
            return Err(AppError::validation("userIds", format!("give 1 to {max} user ids")));
        }
        let added = users(&input.user_ids);
        // Users the chat has never seen: ask the embedding application's directory, once.
        let add = || self.change(caller, id, GroupChange::AddMembers(added.clone()));
        let group = retry_with_directory(&self.core, caller.tenant, &added, add)
            .await
            .map_err(|e| e.on_field("memberIds", "userIds"))?;
        Self::after_change(group)
    }

    /// Removes a member (owner: anyone but themselves; admin: plain members; anyone: themselves, which is
    /// leaving). Members and the removed user get `group.member_removed`.
    pub async fn remove_member(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        user: UserId,
    ) -> Result<(), AppError> {
        self.change(caller, id, GroupChange::RemoveMember(user)).await?;
        Ok(())
    }

    /// Makes a member an admin or a plain member (owner only); members get `group.member_added` with the
    /// new role.
    pub async fn change_member_role(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        user: UserId,
        input: ChangeMemberRoleInput,
    ) -> Result<(), AppError> {
        if input.role == GroupRoleDto::Owner {
            return Err(AppError::validation("role", "role must be admin or member; transfer ownership instead"));
        }
        let role: GroupRole = role_from_dto(input.role);
        self.change(caller, id, GroupChange::ChangeRole(user, role)).await?;
        Ok(())
    }

    /// Hands ownership to another member (owner only); the previous owner becomes an admin.
    pub async fn transfer_ownership(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: TransferOwnershipInput,
    ) -> Result<GroupDto, AppError> {
        let change = GroupChange::TransferOwnership(UserId::from_uuid(input.user_id));
        Self::after_change(self.change(caller, id, change).await?)
    }

    /// Leaves the group. An owner hands ownership to the longest-standing admin, else member; the last
    /// member leaving deletes the group.
    pub async fn leave_group(&self, caller: &CallerContext, id: ConversationId) -> Result<(), AppError> {
        self.change(caller, id, GroupChange::Leave).await?;
        Ok(())
    }
}
