//! `chat.ConversationService`: health, direct conversations, lists and history.

use chat_application::dto::{GetMessagesInput, ListConversationsInput, OpenDirectConversationInput};
use chat_domain::ConversationId;
use tonic::{Request, Response, Status};

use super::GrpcApi;
use super::caller::{authorize, parse_id};
use super::mapping::{conversation_data, conversation_list, message_list};
use super::proto::{self, conversation_service_server::ConversationService};
use super::status::status_of;

#[tonic::async_trait]
impl ConversationService for GrpcApi {
    async fn health(&self, _request: Request<()>) -> Result<Response<proto::Status>, Status> {
        let ready = match self.state.readiness().check().await {
            Ok(()) => true,
            Err(reason) => {
                tracing::warn!(%reason, "gRPC health: not ready");
                false
            }
        };
        Ok(Response::new(proto::Status { success: ready }))
    }

    async fn create(
        &self,
        request: Request<proto::CreateConversationInput>,
    ) -> Result<Response<proto::ConversationData>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let target_user_id = parse_id("recipient_id", &input.recipient_id)?;
        let conversation = self
            .state
            .conversations()
            .open_direct_conversation(&caller, OpenDirectConversationInput { target_user_id })
            .await
            .map_err(status_of)?;
        Ok(Response::new(conversation_data(conversation)))
    }

    async fn list(&self, request: Request<proto::UserId>) -> Result<Response<proto::ConversationList>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let query = ListConversationsInput {
            include_archived: input.include_archived.unwrap_or(false),
            cursor: input.cursor,
            limit: input.limit,
        };
        let page = self.state.conversations().get_conversations(&caller, query).await.map_err(status_of)?;
        Ok(Response::new(conversation_list(page)))
    }

    async fn get(&self, request: Request<proto::GetConversation>) -> Result<Response<proto::ConversationData>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let id = ConversationId::from_uuid(parse_id("id", &input.id)?);
        let conversation = self.state.conversations().get_conversation(&caller, id).await.map_err(status_of)?;
        Ok(Response::new(conversation_data(conversation)))
    }

    async fn messages(&self, request: Request<proto::GetConversation>) -> Result<Response<proto::MessageList>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let id = ConversationId::from_uuid(parse_id("id", &input.id)?);
        let query =
            GetMessagesInput { before: input.before, after: input.after, from: None, to: None, limit: input.limit };
        let page = self.state.conversations().get_messages(&caller, id, query).await.map_err(status_of)?;
        Ok(Response::new(message_list(page)))
    }
}
