//! `chat.GroupService`: create, rename, delete, members and roles.

use chat_application::CallerContext;
use chat_application::dto::{
    AddGroupMembersInput, ChangeMemberRoleInput, CreateGroupInput, GetGroupMembersInput, GroupRoleDto,
    TransferOwnershipInput, UpdateGroupInput,
};
use chat_domain::{ConversationId, UserId};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::GrpcApi;
use super::caller::{authorize, parse_id, parse_ids};
use super::mapping::{group_data, participant_list};
use super::proto::{self, group_service_server::GroupService};
use super::status::{invalid_field, status_of};

/// Members per page when the request does not say (the original contract answers whole lists; 100 is
/// the largest page the services give).
const DEFAULT_PARTICIPANTS: u32 = 100;

fn success() -> Response<proto::Status> {
    Response::new(proto::Status { success: true })
}

impl GrpcApi {
    /// The first page of a group's members, as the original contract answers role changes.
    async fn participants(&self, caller: &CallerContext, group: Uuid) -> Result<proto::ParticipantList, Status> {
        let input = GetGroupMembersInput { cursor: None, limit: Some(DEFAULT_PARTICIPANTS) };
        let page = self
            .state
            .groups()
            .get_members(caller, ConversationId::from_uuid(group), input)
            .await
            .map_err(status_of)?;
        Ok(participant_list(group, page))
    }

    /// Sets a member's role, then answers the members.
    async fn set_role(
        &self,
        request: Request<proto::UserGroupParticipantRequest>,
        role: GroupRoleDto,
    ) -> Result<Response<proto::ParticipantList>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = parse_id("id", &input.id)?;
        let member = UserId::from_uuid(parse_id("participant_id", &input.participant_id)?);
        self.state
            .groups()
            .change_member_role(&caller, ConversationId::from_uuid(group), member, ChangeMemberRoleInput { role })
            .await
            .map_err(status_of)?;
        Ok(Response::new(self.participants(&caller, group).await?))
    }
}

#[tonic::async_trait]
impl GroupService for GrpcApi {
    async fn create(
        &self,
        request: Request<proto::CreateGroupInput>,
    ) -> Result<Response<proto::ConversationData>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let data = input.data.ok_or_else(|| invalid_field("data", "is required (`data.name` is the group's name)"))?;
        let create = CreateGroupInput {
            name: data.name,
            description: data.description,
            avatar_url: None,
            member_ids: parse_ids("member_ids", &input.member_ids)?,
        };
        let group = self.state.groups().create_group(&caller, create).await.map_err(status_of)?;
        Ok(Response::new(group_data(group)))
    }

    async fn delete(&self, request: Request<proto::UserGroupRequest>) -> Result<Response<proto::Status>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = ConversationId::from_uuid(parse_id("id", &input.id)?);
        self.state.groups().delete_group(&caller, group).await.map_err(status_of)?;
        Ok(success())
    }

    async fn update(&self, request: Request<proto::UpdateGroupInput>) -> Result<Response<proto::Status>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = ConversationId::from_uuid(parse_id("id", &input.id)?);
        let data = input.data.ok_or_else(|| invalid_field("data", "is required (`data.name` is the new name)"))?;
        // The contract only renames: what it cannot express (the avatar, and the description when absent)
        // stays as it is.
        let current = self.state.groups().get_group(&caller, group).await.map_err(status_of)?;
        let update = UpdateGroupInput {
            name: data.name,
            description: data.description.or(current.description),
            avatar_url: current.avatar_url,
        };
        self.state.groups().update_group(&caller, group, update).await.map_err(status_of)?;
        Ok(success())
    }

    async fn make_owner(
        &self,
        request: Request<proto::UserGroupParticipantRequest>,
    ) -> Result<Response<proto::Status>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = ConversationId::from_uuid(parse_id("id", &input.id)?);
        let user_id = parse_id("participant_id", &input.participant_id)?;
        self.state
            .groups()
            .transfer_ownership(&caller, group, TransferOwnershipInput { user_id })
            .await
            .map_err(status_of)?;
        Ok(success())
    }

    async fn add_members(
        &self,
        request: Request<proto::AddParticipantRequest>,
    ) -> Result<Response<proto::Status>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = ConversationId::from_uuid(parse_id("id", &input.id)?);
        let user_ids = parse_ids("users", &input.users)?;
        self.state.groups().add_members(&caller, group, AddGroupMembersInput { user_ids }).await.map_err(status_of)?;
        Ok(success())
    }

    async fn get_participants(
        &self,
        request: Request<proto::UserGroupRequest>,
    ) -> Result<Response<proto::ParticipantList>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = parse_id("id", &input.id)?;
        let query =
            GetGroupMembersInput { cursor: input.cursor, limit: Some(input.limit.unwrap_or(DEFAULT_PARTICIPANTS)) };
        let page = self
            .state
            .groups()
            .get_members(&caller, ConversationId::from_uuid(group), query)
            .await
            .map_err(status_of)?;
        Ok(Response::new(participant_list(group, page)))
    }

    async fn make_admin(
        &self,
        request: Request<proto::UserGroupParticipantRequest>,
    ) -> Result<Response<proto::ParticipantList>, Status> {
        self.set_role(request, GroupRoleDto::Admin).await
    }

    async fn remove_admin(
        &self,
        request: Request<proto::UserGroupParticipantRequest>,
    ) -> Result<Response<proto::ParticipantList>, Status> {
        self.set_role(request, GroupRoleDto::Member).await
    }

    async fn remove_member(
        &self,
        request: Request<proto::UserGroupParticipantRequest>,
    ) -> Result<Response<proto::ParticipantList>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = parse_id("id", &input.id)?;
        let member = parse_id("participant_id", &input.participant_id)?;
        self.state
            .groups()
            .remove_member(&caller, ConversationId::from_uuid(group), UserId::from_uuid(member))
            .await
            .map_err(status_of)?;
        if member == caller.user.as_uuid() {
            // The caller left: the group is no longer theirs to read.
            return Ok(Response::new(proto::ParticipantList::default()));
        }
        Ok(Response::new(self.participants(&caller, group).await?))
    }

    async fn leave(
        &self,
        request: Request<proto::UserGroupRequest>,
    ) -> Result<Response<proto::ParticipantList>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let group = ConversationId::from_uuid(parse_id("id", &input.id)?);
        self.state.groups().leave_group(&caller, group).await.map_err(status_of)?;
        Ok(Response::new(proto::ParticipantList::default()))
    }
}
