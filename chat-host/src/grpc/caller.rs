//! Who is calling: the bearer token of the request metadata, checked by the host's [`Authenticator`],
//! and the contract's legacy `user_id` fields checked against it.
//!
//! [`Authenticator`]: crate::auth::Authenticator

use chat_application::{AppError, CallerContext};
use tonic::{Request, Status};
use uuid::Uuid;

use super::proto;
use super::status::{invalid_field, status_of, unauthenticated};
use crate::auth::Credentials;
use crate::state::ChatState;

/// A request of the original contract that names its caller in a `user_id` field.
pub(crate) trait LegacyUserId {
    /// The `user_id` field as sent (empty when not sent).
    fn legacy_user_id(&self) -> &str;
}

macro_rules! legacy_user_id {
    ($($message:ty),* $(,)?) => {
        $(impl LegacyUserId for $message {
            fn legacy_user_id(&self) -> &str {
                &self.user_id
            }
        })*
    };
}

legacy_user_id!(
    proto::CreateConversationInput,
    proto::UserId,
    proto::GetConversation,
    proto::CreateMessageInput,
    proto::UpdateMessageInput,
    proto::DeleteMessageInput,
    proto::CreateGroupInput,
    proto::UpdateGroupInput,
    proto::UserGroupRequest,
    proto::UserGroupParticipantRequest,
    proto::AddParticipantRequest,
);

/// Authenticates the caller from the metadata (as REST does from the headers: the same token rules and
/// tenancy, and the chat's copy of the user refreshed from the claims) and returns them with the message.
pub(crate) async fn authenticate<T>(state: &ChatState, request: Request<T>) -> Result<(CallerContext, T), Status> {
    let (metadata, _, message) = request.into_parts();
    // Every header reaches the authenticator, so that an embedder's own scheme (a gateway's headers…)
    // works over gRPC as over REST.
    let headers = metadata.into_headers();
    let credentials = Credentials { token: None, headers: &headers };
    let caller = state.authenticator().authenticate(credentials).await.map_err(|e| unauthenticated(&e))?;
    state.sync_caller(&caller).await.map_err(status_of)?;
    Ok((caller, message))
}

/// [`authenticate`], then refuses a legacy `user_id` that is not the token's user.
pub(crate) async fn authorize<T: LegacyUserId>(
    state: &ChatState,
    request: Request<T>,
) -> Result<(CallerContext, T), Status> {
    let (caller, message) = authenticate(state, request).await?;
    check_legacy_user_id(&caller, message.legacy_user_id())?;
    Ok((caller, message))
}

/// An empty `user_id` is fine (identity comes from the token); any other must be the token's user.
fn check_legacy_user_id(caller: &CallerContext, user_id: &str) -> Result<(), Status> {
    let user_id = user_id.trim();
    if user_id.is_empty() {
        return Ok(());
    }
    let id = parse_id("user_id", user_id)?;
    if id == caller.user.as_uuid() {
        Ok(())
    } else {
        Err(status_of(AppError::forbidden(
            "`user_id` is not the user of the bearer token: leave it empty (the token says who is calling) or send \
             the token's user id",
        )))
    }
}

/// A UUID field of a request; INVALID_ARGUMENT naming the field otherwise.
pub(crate) fn parse_id(field: &str, value: &str) -> Result<Uuid, Status> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid_field(field, "is required (a UUID)"));
    }
    Uuid::parse_str(value).map_err(|_| {
        // Echo short values only: the message must stay small whatever the client sent.
        if value.chars().count() <= 64 {
            invalid_field(field, format!("`{value}` is not a valid UUID"))
        } else {
            invalid_field(field, "not a valid UUID")
        }
    })
}

/// Several UUIDs of one repeated field.
pub(crate) fn parse_ids(field: &str, values: &[String]) -> Result<Vec<Uuid>, Status> {
    values.iter().map(|v| parse_id(field, v)).collect()
}

#[cfg(test)]
mod tests {
    use chat_domain::{TenantId, UserId};
    use tonic::Code;

    use super::*;

    fn caller() -> CallerContext {
        CallerContext::new(TenantId::HOST, UserId::from_uuid(Uuid::new_v4()))
    }

    #[test]
    fn an_empty_legacy_user_id_is_accepted() {
        assert!(check_legacy_user_id(&caller(), "").is_ok());
        assert!(check_legacy_user_id(&caller(), "  ").is_ok());
    }

    #[test]
    fn the_tokens_user_id_is_accepted_and_another_is_denied() {
        let c = caller();
        assert!(check_legacy_user_id(&c, &c.user.as_uuid().to_string()).is_ok());
        let other = check_legacy_user_id(&c, &Uuid::new_v4().to_string()).unwrap_err();
        assert_eq!(other.code(), Code::PermissionDenied);
        assert!(other.message().contains("user_id"), "{}", other.message());
        assert_eq!(check_legacy_user_id(&c, "alice").unwrap_err().code(), Code::InvalidArgument);
    }

    #[test]
    fn bad_ids_name_their_field() {
        let e = parse_id("conversation_id", "nope").unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("conversation_id"), "{}", e.message());
        assert_eq!(parse_id("id", "").unwrap_err().code(), Code::InvalidArgument);
    }
}
