//! `chat.MessageService`: send, edit, delete, reply.

use chat_application::CallerContext;
use chat_application::dto::{DeleteMessageInput, DeleteScopeDto, EditMessageInput, MessageDto, SendMessageInput};
use chat_domain::MessageId;
use tonic::{Request, Response, Status};

use super::GrpcApi;
use super::caller::{authorize, parse_id};
use super::mapping::message_data;
use super::proto::{self, message_service_server::MessageService};
use super::status::{invalid_field, status_of};

/// The text of a request's `data`, which the contract makes a sub-message (absent = a client error).
fn text_of(data: Option<proto::MessageInput>) -> Result<String, Status> {
    data.map(|d| d.text).ok_or_else(|| invalid_field("data", "is required (`data.text` is the message text)"))
}

impl GrpcApi {
    /// Sends through the same service call as `POST /messages`, counted the same way.
    async fn send(&self, caller: &CallerContext, input: SendMessageInput) -> Result<MessageDto, Status> {
        let message = self.state.conversations().send_message(caller, input).await.map_err(status_of)?;
        self.state.metrics().message_sent();
        Ok(message)
    }
}

#[tonic::async_trait]
impl MessageService for GrpcApi {
    async fn send(&self, request: Request<proto::CreateMessageInput>) -> Result<Response<proto::MessageData>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let conversation_id = parse_id("conversation_id", &input.conversation_id)?;
        let send = SendMessageInput {
            conversation_id: Some(conversation_id),
            text: text_of(input.data)?,
            client_message_id: input.client_message_id,
            ..SendMessageInput::default()
        };
        Ok(Response::new(message_data(GrpcApi::send(self, &caller, send).await?)))
    }

    async fn update(
        &self,
        request: Request<proto::UpdateMessageInput>,
    ) -> Result<Response<proto::MessageData>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let id = MessageId::from_uuid(parse_id("id", &input.id)?);
        let edit = EditMessageInput { text: text_of(input.data)? };
        let message = self.state.conversations().edit_message(&caller, id, edit).await.map_err(status_of)?;
        Ok(Response::new(message_data(message)))
    }

    async fn delete(&self, request: Request<proto::DeleteMessageInput>) -> Result<Response<proto::Status>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let id = MessageId::from_uuid(parse_id("id", &input.id)?);
        // The original contract deletes for everyone; `only_for_me` is the REST default `scope=me`.
        let scope = if input.only_for_me.unwrap_or(false) { DeleteScopeDto::Me } else { DeleteScopeDto::Everyone };
        self.state
            .conversations()
            .delete_message(&caller, id, DeleteMessageInput { scope })
            .await
            .map_err(status_of)?;
        Ok(Response::new(proto::Status { success: true }))
    }

    async fn reply(&self, request: Request<proto::UpdateMessageInput>) -> Result<Response<proto::MessageData>, Status> {
        let (caller, input) = authorize(&self.state, request).await?;
        let replied = parse_id("id", &input.id)?;
        let text = text_of(input.data)?;
        // The contract names only the message replied to: its conversation is the one it is in (and
        // reading it checks that the caller can see it).
        let original =
            self.state.conversations().get_message(&caller, MessageId::from_uuid(replied)).await.map_err(status_of)?;
        let send = SendMessageInput {
            conversation_id: Some(original.conversation_id),
            text,
            reply_to_id: Some(replied),
            client_message_id: input.client_message_id,
            ..SendMessageInput::default()
        };
        Ok(Response::new(message_data(GrpcApi::send(self, &caller, send).await?)))
    }
}
