use axum::extract::State;
use axum::http::StatusCode;
use chat_application::dto::{
    ArchiveConversationInput, ConversationDto, DirectConversationDto, GetDirectConversationInput, GetMessagesInput,
    ListConversationsInput, MarkReadInput, MessageDto, MuteConversationInput, OpenDirectConversationInput, PageDto,
};
use chat_domain::{ConversationId, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ErrorResponses, IdPath, UserPath};
use crate::http::caller::Caller;
use crate::http::extract::{Json, OptionalJson, Path, Query};
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, open_direct_conversation))
        .routes(routes!(get_conversation, delete_conversation))
        .routes(routes!(get_messages))
        .routes(routes!(mark_read))
        .routes(routes!(set_muted))
        .routes(routes!(set_archived))
        .routes(routes!(get_direct_conversation))
}

/// My conversations, newest activity first, with last message, unread count, muted and archived.
#[utoipa::path(get, path = "/conversations", tag = "conversations", params(ListConversationsInput),
    responses((status = 200, description = "A page of conversations", body = PageDto<ConversationDto>), ErrorResponses),
    security(("bearer" = [])))]
async fn list_conversations(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Query(input): Query<ListConversationsInput>,
) -> Result<axum::Json<PageDto<ConversationDto>>, ApiError> {
    Ok(axum::Json(state.conversations().get_conversations(&caller, input).await?))
}

/// Get or create the direct conversation with a user (idempotent).
#[utoipa::path(post, path = "/conversations", tag = "conversations", request_body = OpenDirectConversationInput,
    responses((status = 200, description = "The conversation", body = ConversationDto), ErrorResponses),
    security(("bearer" = [])))]
async fn open_direct_conversation(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Json(input): Json<OpenDirectConversationInput>,
) -> Result<axum::Json<ConversationDto>, ApiError> {
    Ok(axum::Json(state.conversations().open_direct_conversation(&caller, input).await?))
}

/// One conversation: name, type, creation date, member count, my unread count and settings.
#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses((status = 200, description = "The conversation", body = ConversationDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_conversation(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<axum::Json<ConversationDto>, ApiError> {
    Ok(axum::Json(state.conversations().get_conversation(&caller, ConversationId::from_uuid(path.id)).await?))
}

/// Delete my side of a conversation.
#[utoipa::path(delete, path = "/conversations/{id}", tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses((status = 204, description = "Deleted"), ErrorResponses),
    security(("bearer" = [])))]
async fn delete_conversation(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
) -> Result<StatusCode, ApiError> {
    state.conversations().delete_conversation(&caller, ConversationId::from_uuid(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// History: `before`/`after` cursors, `from`/`to` time range, `limit` (1-100, default 50).
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id"), GetMessagesInput),
    responses((status = 200, description = "A page of messages in ascending `seq`", body = PageDto<MessageDto>), ErrorResponses),
    security(("bearer" = [])))]
async fn get_messages(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Query(input): Query<GetMessagesInput>,
) -> Result<axum::Json<PageDto<MessageDto>>, ApiError> {
    Ok(axum::Json(state.conversations().get_messages(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// Mark read up to `upToMessageId` (default: everything); read receipts go out in real time.
#[utoipa::path(post, path = "/conversations/{id}/read", tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")), request_body = Option<MarkReadInput>,
    responses((status = 204, description = "Marked read"), ErrorResponses),
    security(("bearer" = [])))]
async fn mark_read(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    OptionalJson(input): OptionalJson<MarkReadInput>,
) -> Result<StatusCode, ApiError> {
    let input = input.unwrap_or_default();
    state.conversations().mark_read(&caller, ConversationId::from_uuid(path.id), input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mute or unmute a conversation: `{ muted }`.
#[utoipa::path(post, path = "/conversations/{id}/mute", tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")), request_body = MuteConversationInput,
    responses((status = 200, description = "The conversation", body = ConversationDto), ErrorResponses),
    security(("bearer" = [])))]
async fn set_muted(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Json(input): Json<MuteConversationInput>,
) -> Result<axum::Json<ConversationDto>, ApiError> {
    Ok(axum::Json(state.conversations().set_muted(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// Archive or unarchive a conversation: `{ archived }`.
#[utoipa::path(post, path = "/conversations/{id}/archive", tag = "conversations",
    params(("id" = Uuid, Path, description = "Conversation id")), request_body = ArchiveConversationInput,
    responses((status = 200, description = "The conversation", body = ConversationDto), ErrorResponses),
    security(("bearer" = [])))]
async fn set_archived(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<IdPath>,
    Json(input): Json<ArchiveConversationInput>,
) -> Result<axum::Json<ConversationDto>, ApiError> {
    Ok(axum::Json(state.conversations().set_archived(&caller, ConversationId::from_uuid(path.id), input).await?))
}

/// The direct conversation with a user and its latest messages (ABP's GetConversation).
#[utoipa::path(get, path = "/users/{userId}/conversation", tag = "conversations",
    params(("userId" = Uuid, Path, description = "The other user"), GetDirectConversationInput),
    responses((status = 200, description = "The conversation and its latest messages", body = DirectConversationDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_direct_conversation(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<UserPath>,
    Query(input): Query<GetDirectConversationInput>,
) -> Result<axum::Json<DirectConversationDto>, ApiError> {
    Ok(axum::Json(
        state.conversations().get_direct_conversation(&caller, UserId::from_uuid(path.user_id), input).await?,
    ))
}
