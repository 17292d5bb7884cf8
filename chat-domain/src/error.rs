//! Domain and repository errors.

use crate::ids::{ConversationId, MessageId, UserId};

/// A business rule was broken. Each variant names the rule in the words of the chat, with its data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Message text is empty after trimming.
    #[error("message text is empty")]
    EmptyMessage,
    /// Message text is longer than allowed.
    #[error("message text is longer than {max} characters")]
    MessageTooLong {
        /// The configured maximum, in characters.
        max: usize,
    },
    /// A text field (group name, description, user name…) is empty or too long.
    #[error("{field} must be 1 to {max} characters")]
    InvalidText {
        /// Which field.
        field: &'static str,
        /// The maximum, in characters.
        max: usize,
    },
    /// A reaction is not a single emoji or a short `:name:`.
    #[error("reaction must be a single emoji or a short :name:")]
    InvalidEmoji,
    /// A user may not write to themselves.
    #[error("a conversation with yourself is not allowed")]
    SelfConversation,
    /// The acting user is not a member of the conversation.
    #[error("user {user} is not a member of conversation {conversation}")]
    NotAMember {
        /// The conversation.
        conversation: ConversationId,
        /// The user.
        user: UserId,
    },
    /// The user is already a member of the group.
    #[error("user {user} is already a member")]
    AlreadyAMember {
        /// The user.
        user: UserId,
    },
    /// The acting member's role does not allow the action.
    #[error("your role does not allow this: {action}")]
    RoleRequired {
        /// What was attempted.
        action: &'static str,
    },
    /// Only the author may change a message.
    #[error("only the author may {action} message {message}")]
    NotTheAuthor {
        /// The message.
        message: MessageId,
        /// What was attempted.
        action: &'static str,
    },
    /// The message has been deleted for everyone.
    #[error("message {0} has been deleted")]
    MessageDeleted(MessageId),
    /// The tenant does not allow deleting messages, or the deletion period has passed.
    #[error("deleting this message is not allowed: {reason}")]
    DeletionNotAllowed {
        /// Why.
        reason: &'static str,
    },
    /// The tenant does not allow deleting conversations.
    #[error("deleting conversations is not allowed")]
    ConversationDeletionNotAllowed,
    /// The edit window has passed.
    #[error("the edit window of {seconds} seconds has passed")]
    EditWindowPassed {
        /// The window, in seconds.
        seconds: i64,
    },
    /// The group would have more members than allowed.
    #[error("a group may have at most {max} members")]
    GroupFull {
        /// The limit.
        max: usize,
    },
    /// The owner cannot be removed, demoted or leave without handing over ownership.
    #[error("the owner cannot {action}")]
    OwnerCannot {
        /// What was attempted.
        action: &'static str,
    },
    /// The reply-to message is not in the same conversation.
    #[error("the replied-to message is not in this conversation")]
    ReplyOutsideConversation,
    /// Chat is disabled for the tenant.
    #[error("chat is disabled for this tenant")]
    ChatDisabled,
    /// A referenced thing (user, conversation, message, attachment, group) does not exist for the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
}

/// Storage failed or refused. It hides which database is behind it.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// A uniqueness rule was violated (for example a repeated idempotency key).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The storage itself failed (connection, I/O, corruption).
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store is over its write capacity and refused the write before doing anything (admission
    /// control); the same write may succeed after `retry_after`.
    #[error("the store is overloaded; retry after {} ms", .retry_after.as_millis())]
    Overloaded {
        /// How long to wait before trying again.
        retry_after: std::time::Duration,
    },
}

impl RepositoryError {
    /// Wraps any storage error.
    pub fn storage<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self::Storage(Box::new(error))
    }

    /// A storage error from a message, for failures that have no error type of their own.
    pub fn storage_msg(message: impl Into<String>) -> Self {
        Self::Storage(message.into().into())
    }
}

/// What a unit of work can fail with: a broken rule (nothing is written) or a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// A business rule was broken; the unit of work was rolled back.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage failed; the unit of work was rolled back.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}
