use axum::extract::State;
use axum::http::StatusCode;
use chat_application::dto::{
    DeleteMessageInput, EditMessageInput, MessageDto, PageDto, ReceiptsDto, SearchMessagesInput, SendMessageInput,
};
use chat_domain::MessageId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ErrorResponses, IdPath, ReactionPath};
use crate::http::caller::Caller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(search_messages))
        .routes(routes!(get_message, edit_message, delete_message))
        .routes(routes!(add_reaction, remove_reaction))
        .routes(routes!(get_receipts))
}

/// Send a message to a user (`targetUserId`) or a conversation (`conversationId`).
///
/// A repeated `clientMessageId` from the same sender returns the first message, never a duplicate.
#[utoipa::path(post, path = "/messages", tag = "messages", request_body = SendMessageInput,
    responses((status = 201, description = "The message", body = MessageDto), ErrorResponses),
    security(("bearer" = [])))]
async fn send_message(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Json(input): Json<SendMessageInput>,
) -> Result<(StatusCode, axum::Json<MessageDto>), ApiError> {
    let message = state.conversations().send_message(&caller, input).await?;
    state.metrics().message_sent();
    Ok((StatusCode::CREATED, axum::Json(message)))
}

/// Full-text search over the caller's conversations.
#[utoipa::path(get, path = "/messages/search", tag = "messages", params(SearchMessagesInput),
    responses((status = 200, description = "Best matches first", body = PageDto<MessageDto>), ErrorResponses),
    security(("bearer" = [])))]
async fn search_messages(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Query(input): Query<SearchMessagesInput>,
) -> Result<axum::Json<PageDto<MessageDto>>, ApiError> {
    Ok(axum::Json(state.conversations().search_messages(&caller, input).await?))
}

/// One message (members of its conversation only).
#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(("id" = Uuid, Path, description = "Message id")),
    responses((status = 200, description = "The message", body = MessageDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_message(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<axum::Json<MessageDto>, ApiError> {
    Ok(axum::Json(state.conversations().get_message(&caller, MessageId::from_uuid(path.id)).await?))
}

/// Edit my own message.
#[utoipa::path(patch, path = "/messages/{id}", tag = "messages", params(("id" = Uuid, Path, description = "Message id")),
    request_body = EditMessageInput,
    responses((status = 200, description = "The edited message", body = MessageDto), ErrorResponses),
    security(("bearer" = [])))]
async fn edit_message(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Json(input): Json<EditMessageInput>,
) -> Result<axum::Json<MessageDto>, ApiError> {
    Ok(axum::Json(state.conversations().edit_message(&caller, MessageId::from_uuid(path.id), input).await?))
}

/// Delete a message for me (`scope=me`, the default) or for everyone (`scope=everyone`: the sender, or a
/// group owner/admin).
#[utoipa::path(delete, path = "/messages/{id}", tag = "messages",
    params(("id" = Uuid, Path, description = "Message id"), DeleteMessageInput),
    responses((status = 204, description = "Deleted"), ErrorResponses),
    security(("bearer" = [])))]
async fn delete_message(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Query(input): Query<DeleteMessageInput>,
) -> Result<StatusCode, ApiError> {
    state.conversations().delete_message(&caller, MessageId::from_uuid(path.id), input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add my reaction.
#[utoipa::path(put, path = "/messages/{id}/reactions/{emoji}", tag = "messages",
    params(("id" = Uuid, Path, description = "Message id"), ("emoji" = String, Path, description = "An emoji, URL-encoded")),
    responses((status = 204, description = "Added (or already there)"), ErrorResponses),
    security(("bearer" = [])))]
async fn add_reaction(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<ReactionPath>,
) -> Result<StatusCode, ApiError> {
    state.conversations().add_reaction(&caller, MessageId::from_uuid(path.id), &path.emoji).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove my reaction.
#[utoipa::path(delete, path = "/messages/{id}/reactions/{emoji}", tag = "messages",
    params(("id" = Uuid, Path, description = "Message id"), ("emoji" = String, Path, description = "An emoji, URL-encoded")),
    responses((status = 204, description = "Removed (or was not there)"), ErrorResponses),
    security(("bearer" = [])))]
async fn remove_reaction(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<ReactionPath>,
) -> Result<StatusCode, ApiError> {
    state.conversations().remove_reaction(&caller, MessageId::from_uuid(path.id), &path.emoji).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who has received and who has read a message.
#[utoipa::path(get, path = "/messages/{id}/receipts", tag = "messages", params(("id" = Uuid, Path, description = "Message id")),
    responses((status = 200, description = "Receipts per member", body = ReceiptsDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_receipts(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<axum::Json<ReceiptsDto>, ApiError> {
    Ok(axum::Json(state.conversations().get_receipts(&caller, MessageId::from_uuid(path.id)).await?))
}
