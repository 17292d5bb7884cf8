use axum::extract::State;
use axum::http::StatusCode;
use chat_application::dto::{
    AddGroupMembersInput, ChangeMemberRoleInput, CreateGroupInput, GetGroupMembersInput, GroupDto, GroupMemberDto,
    PageDto, TransferOwnershipInput, UpdateGroupInput,
};
use chat_domain::{ConversationId, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ErrorResponses, IdPath, MemberPath};
use crate::http::caller::Caller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new()
        .routes(routes!(create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(get_members, add_members))
        .routes(routes!(remove_member))
        .routes(routes!(change_member_role))
        .routes(routes!(transfer_ownership))
        .routes(routes!(leave_group))
}

/// Create a group; the creator is its owner. A group is a conversation with the same id.
#[utoipa::path(post, path = "/groups", tag = "groups", request_body = CreateGroupInput,
    responses((status = 201, description = "The group", body = GroupDto), ErrorResponses),
    security(("bearer" = [])))]
async fn create_group(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Json(input): Json<CreateGroupInput>,
) -> Result<(StatusCode, axum::Json<GroupDto>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(state.groups().create_group(&caller, input).await?)))
}

/// One group (members only).
#[utoipa::path(get, path = "/groups/{id}", tag = "groups", params(("id" = Uuid, Path, description = "Group id")),
    responses((status = 200, description = "The group", body = GroupDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_group(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<axum::Json<GroupDto>, ApiError> {
    Ok(axum::Json(state.groups().get_group(&caller, ConversationId::from_uuid(path.id)).await?))
}

/// Update a group's name, description and avatar (owner or admin).
#[utoipa::path(patch, path = "/groups/{id}", tag = "groups", params(("id" = Uuid, Path, description = "Group id")),
    request_body = UpdateGroupInput,
    responses((status = 200, description = "The group", body = GroupDto), ErrorResponses),
    security(("bearer" = [])))]
async fn update_group(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Json(input): Json<UpdateGroupInput>,
) -> Result<axum::Json<GroupDto>, ApiError> {
    Ok(axum::Json(state.groups().update_group(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// Delete a group (owner).
#[utoipa::path(delete, path = "/groups/{id}", tag = "groups", params(("id" = Uuid, Path, description = "Group id")),
    responses((status = 204, description = "Deleted"), ErrorResponses),
    security(("bearer" = [])))]
async fn delete_group(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<StatusCode, ApiError> {
    state.groups().delete_group(&caller, ConversationId::from_uuid(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of a group's members, with roles.
#[utoipa::path(get, path = "/groups/{id}/members", tag = "groups",
    params(("id" = Uuid, Path, description = "Group id"), GetGroupMembersInput),
    responses((status = 200, description = "A page of members", body = PageDto<GroupMemberDto>), ErrorResponses),
    security(("bearer" = [])))]
async fn get_members(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Query(input): Query<GetGroupMembersInput>,
) -> Result<axum::Json<PageDto<GroupMemberDto>>, ApiError> {
    Ok(axum::Json(state.groups().get_members(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// Add members (owner or admin).
#[utoipa::path(post, path = "/groups/{id}/members", tag = "groups", params(("id" = Uuid, Path, description = "Group id")),
    request_body = AddGroupMembersInput,
    responses((status = 200, description = "The group", body = GroupDto), ErrorResponses),
    security(("bearer" = [])))]
async fn add_members(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Json(input): Json<AddGroupMembersInput>,
) -> Result<axum::Json<GroupDto>, ApiError> {
    Ok(axum::Json(state.groups().add_members(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// Remove a member (owner or admin; anyone may remove themselves).
#[utoipa::path(delete, path = "/groups/{id}/members/{userId}", tag = "groups",
    params(("id" = Uuid, Path, description = "Group id"), ("userId" = Uuid, Path, description = "Member")),
    responses((status = 204, description = "Removed"), ErrorResponses),
    security(("bearer" = [])))]
async fn remove_member(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<MemberPath>,
) -> Result<StatusCode, ApiError> {
    state.groups().remove_member(&caller, ConversationId::from_uuid(path.id), UserId::from_uuid(path.user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a member's role to `admin` or `member` (owner).
#[utoipa::path(put, path = "/groups/{id}/members/{userId}/role", tag = "groups",
    params(("id" = Uuid, Path, description = "Group id"), ("userId" = Uuid, Path, description = "Member")),
    request_body = ChangeMemberRoleInput,
    responses((status = 204, description = "Changed"), ErrorResponses),
    security(("bearer" = [])))]
async fn change_member_role(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<MemberPath>,
    Json(input): Json<ChangeMemberRoleInput>,
) -> Result<StatusCode, ApiError> {
    state
        .groups()
        .change_member_role(&caller, ConversationId::from_uuid(path.id), UserId::from_uuid(path.user_id), input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Transfer ownership to another member (owner).
#[utoipa::path(post, path = "/groups/{id}/owner", tag = "groups", params(("id" = Uuid, Path, description = "Group id")),
    request_body = TransferOwnershipInput,
    responses((status = 200, description = "The group", body = GroupDto), ErrorResponses),
    security(("bearer" = [])))]
async fn transfer_ownership(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Json(input): Json<TransferOwnershipInput>,
) -> Result<axum::Json<GroupDto>, ApiError> {
    Ok(axum::Json(state.groups().transfer_ownership(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// Leave a group; an owner who leaves hands ownership to the longest-standing admin, else member.
#[utoipa::path(post, path = "/groups/{id}/leave", tag = "groups", params(("id" = Uuid, Path, description = "Group id")),
    responses((status = 204, description = "Left"), ErrorResponses),
    security(("bearer" = [])))]
async fn leave_group(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<StatusCode, ApiError> {
    state.groups().leave_group(&caller, ConversationId::from_uuid(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
