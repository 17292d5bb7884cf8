use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{ConversationId, TenantId, UserId};
use crate::text::{bounded, optional_bounded};

/// A member's role in a group. Exactly one member is `Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupRole {
    /// Full control; exactly one per group.
    Owner,
    /// Manages members and details.
    Admin,
    /// Reads and writes.
    Member,
}

impl GroupRole {
    /// Whether the role may manage members and the group's details.
    pub fn can_manage(self) -> bool {
        matches!(self, GroupRole::Owner | GroupRole::Admin)
    }
}

/// One member of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// The user.
    pub user: UserId,
    /// Their role.
    pub role: GroupRole,
    /// When they joined (ownership passes to the longest-standing).
    pub joined_at: DateTime<Utc>,
}

/// A group's validated name, description and avatar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDetails {
    name: String,
    description: Option<String>,
    avatar_url: Option<String>,
}

impl GroupDetails {
    /// Longest name.
    pub const MAX_NAME: usize = 128;
    /// Longest description.
    pub const MAX_DESCRIPTION: usize = 1024;
    /// Longest avatar URL.
    pub const MAX_AVATAR_URL: usize = 2048;

    /// Validates the details. The avatar must be an `http(s)://` or root-relative URL.
    pub fn parse(name: &str, description: Option<&str>, avatar_url: Option<&str>) -> Result<Self, DomainError> {
        let avatar_url = optional_bounded(avatar_url, "avatarUrl", Self::MAX_AVATAR_URL)?;
        if let Some(url) = &avatar_url {
            let lower = url.to_ascii_lowercase();
            let allowed = lower.starts_with("https://")
                || lower.starts_with("http://")
                || (url.starts_with('/') && !url.starts_with("//"));
            if !allowed || url.chars().any(char::is_whitespace) {
                return Err(DomainError::InvalidText { field: "avatarUrl", max: Self::MAX_AVATAR_URL });
            }
        }
        Ok(Self {
            name: bounded(name, "name", Self::MAX_NAME)?,
            description: optional_bounded(description, "description", Self::MAX_DESCRIPTION)?,
            avatar_url,
        })
    }

    /// Name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    /// Avatar URL.
    pub fn avatar_url(&self) -> Option<&str> {
        self.avatar_url.as_deref()
    }
}

/// What happened when a member left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// They left; nothing else changed.
    Left,
    /// They were the owner; ownership passed to `new_owner`.
    OwnershipPassed {
        /// The new owner.
        new_owner: UserId,
    },
    /// They were the last member; the group is empty and should be deleted.
    GroupEmpty,
}

/// A group conversation with its members.
///
/// Invariants: exactly one owner while the group has members; members are unique; at most the configured
/// number of members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatGroup {
    tenant: TenantId,
    id: ConversationId,
    details: GroupDetails,
    members: Vec<GroupMember>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Every stored field of a [`ChatGroup`]: the one door for rehydration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ChatGroupParts {
    pub tenant: TenantId,
    pub id: ConversationId,
    pub details: GroupDetails,
    pub members: Vec<GroupMember>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ChatGroup {
    /// A new group owned by `creator`, with `members` (duplicates and the creator among them are ignored).
    pub fn create(
        tenant: TenantId,
        id: ConversationId,
        creator: UserId,
        details: GroupDetails,
        members: &[UserId],
        max_members: usize,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let mut group = Self {
            tenant,
            id,
            details,
            members: vec![GroupMember { user: creator, role: GroupRole::Owner, joined_at: now }],
            created_at: now,
            updated_at: now,
        };
        for &user in members {
            if group.role_of(user).is_none() {
                group.members.push(GroupMember { user, role: GroupRole::Member, joined_at: now });
            }
        }
        if group.members.len() > max_members {
            return Err(DomainError::GroupFull { max: max_members });
        }
        Ok(group)
    }

    /// Rehydrates a stored group.
    pub fn from_parts(p: ChatGroupParts) -> Self {
        Self {
            tenant: p.tenant,
            id: p.id,
            details: p.details,
            members: p.members,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }

    /// All fields, for storage.
    pub fn to_parts(&self) -> ChatGroupParts {
        ChatGroupParts {
            tenant: self.tenant,
            id: self.id,
            details: self.details.clone(),
            members: self.members.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// Tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    /// The group's (and its conversation's) id.
    pub fn id(&self) -> ConversationId {
        self.id
    }
    /// Name, description, avatar.
    pub fn details(&self) -> &GroupDetails {
        &self.details
    }
    /// Members, in joining order.
    pub fn members(&self) -> &[GroupMember] {
        &self.members
    }
    /// Created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// Last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// The owner (none only for a group whose last member has left).
    pub fn owner(&self) -> Option<UserId> {
        self.members.iter().find(|m| m.role == GroupRole::Owner).map(|m| m.user)
    }

    /// A user's role, if they are a member.
    pub fn role_of(&self, user: UserId) -> Option<GroupRole> {
        self.members.iter().find(|m| m.user == user).map(|m| m.role)
    }

    fn require_member(&self, user: UserId) -> Result<GroupRole, DomainError> {
        self.role_of(user).ok_or(DomainError::NotAMember { conversation: self.id, user })
    }

    fn require_manager(&self, actor: UserId, action: &'static str) -> Result<GroupRole, DomainError> {
        let role = self.require_member(actor)?;
        if role.can_manage() { Ok(role) } else { Err(DomainError::RoleRequired { action }) }
    }

    fn require_owner(&self, actor: UserId, action: &'static str) -> Result<(), DomainError> {
        match self.require_member(actor)? {
            GroupRole::Owner => Ok(()),
            _ => Err(DomainError::RoleRequired { action }),
        }
    }

    /// Changes name, description and avatar (owner or admin).
    pub fn update(&mut self, actor: UserId, details: GroupDetails, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.require_manager(actor, "update the group")?;
        self.details = details;
        self.updated_at = now;
        Ok(())
    }

    /// Checks that `actor` may delete the group (owner only).
    pub fn ensure_can_delete(&self, actor: UserId) -> Result<(), DomainError> {
        self.require_owner(actor, "delete the group")
    }

    /// Adds members (owner or admin). Users already in the group are skipped; returns those added.
    pub fn add_members(
        &mut self,
        actor: UserId,
        users: &[UserId],
        max_members: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<UserId>, DomainError> {
        self.require_manager(actor, "add members")?;
        let mut added = Vec::new();
        for &user in users {
            if self.role_of(user).is_none() && !added.contains(&user) {
                added.push(user);
            }
        }
        if self.members.len() + added.len() > max_members {
            return Err(DomainError::GroupFull { max: max_members });
        }
        self.members.extend(added.iter().map(|&user| GroupMember { user, role: GroupRole::Member, joined_at: now }));
        if !added.is_empty() {
            self.updated_at = now;
        }
        Ok(added)
    }

    /// Removes `user`. The owner may remove anyone else, an admin only plain members; anyone may remove
    /// themselves (which is [`leave`](Self::leave)).
    pub fn remove_member(
        &mut self,
        actor: UserId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<LeaveOutcome, DomainError> {
        if actor == user {
            return self.leave(user, now);
        }
        let actor_role = self.require_manager(actor, "remove members")?;
        let target_role = self.role_of(user).ok_or(DomainError::NotFound("member"))?;
        match (actor_role, target_role) {
            (_, GroupRole::Owner) => return Err(DomainError::OwnerCannot { action: "be removed" }),
            (GroupRole::Admin, GroupRole::Admin) => {
                return Err(DomainError::RoleRequired { action: "remove an admin" });
            }
            _ => {}
        }
        self.members.retain(|m| m.user != user);
        self.updated_at = now;
        Ok(LeaveOutcome::Left)
    }

    /// `user` leaves. An owner hands ownership to the longest-standing admin, else the longest-standing
    /// member; the last member leaving empties the group.
    pub fn leave(&mut self, user: UserId, now: DateTime<Utc>) -> Result<LeaveOutcome, DomainError> {
        let role = self.require_member(user)?;
        self.members.retain(|m| m.user != user);
        self.updated_at = now;
        if self.members.is_empty() {
            return Ok(LeaveOutcome::GroupEmpty);
        }
        if role != GroupRole::Owner {
            return Ok(LeaveOutcome::Left);
        }
        let successor = self
            .members
            .iter()
            .filter(|m| m.role == GroupRole::Admin)
            .min_by_key(|m| m.joined_at)
            .or_else(|| self.members.iter().min_by_key(|m| m.joined_at))
            .map(|m| m.user);
        match successor {
            Some(new_owner) => {
                self.set_role(new_owner, GroupRole::Owner);
                Ok(LeaveOutcome::OwnershipPassed { new_owner })
            }
            None => Ok(LeaveOutcome::GroupEmpty),
        }
    }

    /// Makes `user` an admin or a plain member (owner only; the owner's own role changes only by transfer).
    pub fn change_role(
        &mut self,
        actor: UserId,
        user: UserId,
        role: GroupRole,
        now: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        self.require_owner(actor, "change roles")?;
        let current = self.require_member(user)?;
        if current == GroupRole::Owner || role == GroupRole::Owner {
            return Err(DomainError::OwnerCannot { action: "change role except by transferring ownership" });
        }
        if current == role {
            return Ok(false);
        }
        self.set_role(user, role);
        self.updated_at = now;
        Ok(true)
    }

    /// Hands ownership to another member (owner only); the previous owner becomes an admin.
    pub fn transfer_ownership(&mut self, actor: UserId, to: UserId, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.require_owner(actor, "transfer ownership")?;
        self.require_member(to)?;
        if actor == to {
            return Ok(());
        }
        self.set_role(actor, GroupRole::Admin);
        self.set_role(to, GroupRole::Owner);
        self.updated_at = now;
        Ok(())
    }

    fn set_role(&mut self, user: UserId, role: GroupRole) {
        if let Some(m) = self.members.iter_mut().find(|m| m.user == user) {
            m.role = role;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().unwrap_or_default() + chrono::Duration::seconds(secs)
    }

    fn user() -> UserId {
        UserId::from_uuid(uuid::Uuid::new_v4())
    }

    fn group(owner: UserId, members: &[UserId]) -> ChatGroup {
        let details = GroupDetails::parse("Team", None, None);
        match details
            .and_then(|d| ChatGroup::create(TenantId::HOST, ConversationId::new_at(t(0)), owner, d, members, 10, t(0)))
        {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn creator_is_the_only_owner() {
        let (o, a) = (user(), user());
        let g = group(o, &[a, a, o]);
        assert_eq!(g.owner(), Some(o));
        assert_eq!(g.members().len(), 2);
        assert_eq!(g.role_of(a), Some(GroupRole::Member));
    }

    #[test]
    fn group_size_is_limited() {
        let members: Vec<_> = (0..10).map(|_| user()).collect();
        let details = GroupDetails::parse("Big", None, None).ok();
        let r = details
            .map(|d| ChatGroup::create(TenantId::HOST, ConversationId::new_at(t(0)), user(), d, &members, 10, t(0)));
        assert_eq!(r, Some(Err(DomainError::GroupFull { max: 10 })));
    }

    #[test]
    fn member_cannot_remove_an_admin_and_admin_cannot_remove_admin() {
        let (o, a1, a2, m) = (user(), user(), user(), user());
        let mut g = group(o, &[a1, a2, m]);
        assert!(g.change_role(o, a1, GroupRole::Admin, t(1)).is_ok());
        assert!(g.change_role(o, a2, GroupRole::Admin, t(1)).is_ok());
        assert!(matches!(g.remove_member(m, a1, t(2)), Err(DomainError::RoleRequired { .. })));
        assert!(matches!(g.remove_member(a2, a1, t(2)), Err(DomainError::RoleRequired { .. })));
        assert!(matches!(g.remove_member(a1, o, t(2)), Err(DomainError::OwnerCannot { .. })));
        assert_eq!(g.remove_member(a1, m, t(2)), Ok(LeaveOutcome::Left));
        assert_eq!(g.remove_member(o, a1, t(2)), Ok(LeaveOutcome::Left));
        assert_eq!(g.role_of(a1), None);
    }

    #[test]
    fn only_the_owner_changes_roles_and_transfers() {
        let (o, a, m) = (user(), user(), user());
        let mut g = group(o, &[a, m]);
        assert!(g.change_role(o, a, GroupRole::Admin, t(1)).is_ok());
        assert!(g.change_role(a, m, GroupRole::Admin, t(1)).is_err());
        assert!(g.transfer_ownership(a, m, t(1)).is_err());
        assert!(g.transfer_ownership(o, m, t(2)).is_ok());
        assert_eq!(g.owner(), Some(m));
        assert_eq!(g.role_of(o), Some(GroupRole::Admin));
    }

    #[test]
    fn owner_leaving_hands_over_to_longest_standing_admin_else_member() {
        let (o, m1, a) = (user(), user(), user());
        let mut g = group(o, &[m1]);
        assert!(g.add_members(o, &[a], 10, t(5)).is_ok());
        assert!(g.change_role(o, a, GroupRole::Admin, t(6)).is_ok());
        assert_eq!(g.leave(o, t(7)), Ok(LeaveOutcome::OwnershipPassed { new_owner: a }));
        let (o2, m2) = (user(), user());
        let mut h = group(o2, &[m2]);
        assert_eq!(h.leave(o2, t(1)), Ok(LeaveOutcome::OwnershipPassed { new_owner: m2 }));
    }

    #[test]
    fn last_owner_leaving_empties_the_group() {
        let o = user();
        let mut g = group(o, &[]);
        assert_eq!(g.leave(o, t(1)), Ok(LeaveOutcome::GroupEmpty));
        assert_eq!(g.owner(), None);
    }

    #[test]
    fn avatar_must_be_a_web_url() {
        assert!(GroupDetails::parse("x", None, Some("javascript:alert(1)")).is_err());
        assert!(GroupDetails::parse("x", None, Some("https://cdn.example/a.png")).is_ok());
        assert!(GroupDetails::parse("", None, None).is_err());
    }
}
