//! Conversations and messages: sending, history, receipts, reactions, the caller's side settings, search,
//! typing.

use std::sync::Arc;

use chat_domain::conversation::{Conversation, ConversationKind, ConversationListQuery};
use chat_domain::message::{
    ClientMessageId, DeleteScope, Emoji, Message, MessagePageQuery, MessageSearchQuery, MessageText, PageOrder,
    Reaction,
};
use chat_domain::messaging::{Actor, SendMessage, SendTarget};
use chat_domain::{AttachmentId, ConversationId, DomainError, MessageId, RepositoryError, Seq, UserId, WorkError};

use crate::caller::CallerContext;
use crate::core::{Checks, Core};
use crate::dto::{
    ArchiveConversationInput, ConversationDto, DeleteMessageInput, DeleteScopeDto, DirectConversationDto,
    EditMessageInput, GetDirectConversationInput, GetMessagesInput, ListConversationsInput, MarkDeliveredInput,
    MarkReadInput, MemberReceiptDto, MessageDto, MuteConversationInput, OpenDirectConversationInput, PageDto,
    ReceiptsDto, SearchMessagesInput, SendMessageInput, TypingInput,
};
use crate::error::AppError;
use crate::mapping::{ConversationExtras, conversation_dto, message_dto, user_dto};
use crate::pagination::{activity_cursor, page, page_limit, parse_activity, parse_offset, parse_seq};
use crate::rate_limit::RateLimitKind;
use crate::realtime::typing_event;
use crate::users::import_unknown_users;

/// Most message ids one `mark_delivered` call may carry.
pub const MAX_DELIVERED_IDS: usize = 100;
/// Longest search text, in characters.
pub const MAX_SEARCH_TEXT: usize = 256;

/// Conversations and their messages, as one member sees and changes them (after ABP's
/// `ConversationAppService`). Every method takes the caller explicitly; a conversation the caller is not
/// in, or of another tenant, is `chat.not_found`.
#[derive(Clone)]
pub struct ConversationAppService {
    core: Arc<Core>,
}

impl std::fmt::Debug for ConversationAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationAppService").finish_non_exhaustive()
    }
}

impl ConversationAppService {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// Sends a message to a user (creating the direct conversation on first use) or to a conversation the
    /// caller belongs to. A repeated `clientMessageId` returns the original message and stores nothing,
    /// even when two copies race (the store's unique key decides). Refused with `chat.disabled` when the
    /// tenant turned chat off.
    pub async fn send_message(&self, caller: &CallerContext, input: SendMessageInput) -> Result<MessageDto, AppError> {
        self.core.admit(caller, RateLimitKind::Send)?;
        let options = &self.core.options;
        let mut checks = Checks::default();
        let target = match (input.target_user_id, input.conversation_id) {
            (Some(user), None) => Some(SendTarget::User(UserId::from_uuid(user))),
            (None, Some(conversation)) => Some(SendTarget::Conversation(ConversationId::from_uuid(conversation))),
            _ => {
                checks.fail("targetUserId", "exactly one of targetUserId and conversationId is required");
                None
            }
        };
        let text = checks.take(MessageText::parse(&input.text, options.max_text_length));
        let client_message_id = checks.take(input.client_message_id.as_deref().map(ClientMessageId::parse).transpose());
        if input.attachment_ids.len() > options.max_attachments {
            checks.fail("attachmentIds", format!("at most {} attachments", options.max_attachments));
        }
        checks.finish()?;
        let (Some(target), Some(text), Some(client_message_id)) = (target, text, client_message_id) else {
            return Err(AppError::validation("input", "invalid message"));
        };
        if !self.core.tenant_settings(caller.tenant).await?.chat_enabled {
            return Err(AppError::ChatDisabled);
        }
        let cmd = SendMessage {
            tenant: caller.tenant,
            sender: caller.user,
            target,
            text,
            reply_to: input.reply_to_id.map(MessageId::from_uuid),
            attachments: input.attachment_ids.iter().map(|id| AttachmentId::from_uuid(*id)).collect(),
            client_message_id,
            now: self.core.now(),
        };
        // A conflict is either a concurrent duplicate of the idempotency key (answer with the original) or
        // two first messages racing to create the same direct conversation (try once more).
        let mut retried = false;
        let mut looked_up = false;
        loop {
            let manager = self.core.manager.clone();
            let attempt = cmd.clone();
            let committed =
                self.core.transact(move |tx| Box::pin(async move { manager.send(tx, attempt).await })).await;
            match committed {
                Ok(committed) => {
                    let sent = committed.value;
                    self.core.deliver(&committed.events, &[], committed.turn).await;
                    if sent.duplicate {
                        return self.message_with_reactions(caller, &sent.message).await;
                    }
                    return Ok(message_dto(&sent.message, &[], Some(caller.user)));
                }
                Err(WorkError::Repository(RepositoryError::Conflict(conflict))) => {
                    if let Some(key) = &cmd.client_message_id
                        && let Some(original) =
                            self.core.repos.messages.find_by_client_id(caller.tenant, caller.user, key).await?
                    {
                        return self.message_with_reactions(caller, &original).await;
                    }
                    if retried {
                        return Err(AppError::Conflict { message: conflict });
                    }
                    retried = true;
                }
                // A user the chat has never seen: ask the embedding application's directory, once.
                Err(WorkError::Domain(DomainError::NotFound("user")))
                    if !looked_up
                        && let SendTarget::User(peer) = cmd.target
                        && import_unknown_users(&self.core, caller.tenant, &[peer]).await? =>
                {
                    looked_up = true;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn message_with_reactions(&self, caller: &CallerContext, message: &Message) -> Result<MessageDto, AppError> {
        let reactions = self.core.repos.messages.reactions(caller.tenant, &[message.id()]).await?;
        Ok(message_dto(message, &reactions, Some(caller.user)))
    }

    /// One conversation as the caller sees it: type, name, member count, last message, unread count and
    /// the caller's settings.
    pub async fn get_conversation(
        &self,
        caller: &CallerContext,
        id: ConversationId,
    ) -> Result<ConversationDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let side = self.side(caller, id).await?;
        self.one_dto(caller, side).await
    }

    async fn one_dto(&self, caller: &CallerContext, side: Conversation) -> Result<ConversationDto, AppError> {
        let mut dtos = self.conversation_dtos(caller, vec![side]).await?;
        dtos.pop().ok_or(AppError::not_found("conversation"))
    }

    /// The caller's side of a conversation, or not found.
    async fn side(&self, caller: &CallerContext, id: ConversationId) -> Result<Conversation, AppError> {
        self.core
            .repos
            .conversations
            .find(caller.tenant, id, caller.user)
            .await?
            .ok_or(AppError::not_found("conversation"))
    }

    /// Turns sides into DTOs with a fixed number of reads: peers' names, groups, last messages and their
    /// reactions, each loaded once for the whole list.
    async fn conversation_dtos(
        &self,
        caller: &CallerContext,
        sides: Vec<Conversation>,
    ) -> Result<Vec<ConversationDto>, AppError> {
        let repos = &self.core.repos;
        let tenant = caller.tenant;
        let peers: Vec<UserId> = sides.iter().filter_map(Conversation::peer).collect();
        let users = if peers.is_empty() { Vec::new() } else { repos.users.find_many(tenant, &peers).await? };
        let last_ids: Vec<MessageId> = sides.iter().filter_map(|s| s.last_message().map(|m| m.id)).collect();
        let (messages, reactions) = if last_ids.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (repos.messages.find_many(tenant, &last_ids).await?, repos.messages.reactions(tenant, &last_ids).await?)
        };
        let mut dtos = Vec::with_capacity(sides.len());
        for side in sides {
            let (name, member_count) = match side.kind() {
                ConversationKind::Direct { peer } => {
                    (users.iter().find(|u| u.id() == peer).map(|u| u.name().display()), 2)
                }
                ConversationKind::Group => match repos.groups.find(tenant, side.id()).await? {
                    Some(group) => (Some(group.details().name().to_owned()), group.members().len() as u64),
                    None => (None, repos.conversations.member_count(tenant, side.id()).await?),
                },
            };
            let last_message = side
                .last_message()
                .and_then(|last| messages.iter().find(|m| m.id() == last.id))
                .map(|m| message_dto(m, &reactions, Some(caller.user)));
            dtos.push(conversation_dto(&side, ConversationExtras { name, member_count, last_message }));
        }
        Ok(dtos)
    }

    /// The caller's conversations, newest activity first (archived ones only with `includeArchived`;
    /// conversations the caller deleted reappear with their next message). The cursor is opaque.
    pub async fn get_conversations(
        &self,
        caller: &CallerContext,
        input: ListConversationsInput,
    ) -> Result<PageDto<ConversationDto>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        let before = input.cursor.as_deref().map(|c| parse_activity("cursor", c)).transpose()?;
        let query = ConversationListQuery {
            tenant: caller.tenant,
            user: caller.user,
            include_archived: input.include_archived,
            before,
            limit: limit + 1,
        };
        let sides = self.core.repos.conversations.list(&query).await?;
        let sides_page = page(sides, limit, |s| activity_cursor(s.last_activity_at(), s.id()), |s| s);
        let items = self.conversation_dtos(caller, sides_page.items).await?;
        Ok(PageDto { items, has_more: sides_page.has_more, next_cursor: sides_page.next_cursor })
    }

    /// A page of a conversation's history as the caller sees it (without messages they deleted for
    /// themselves or cleared). See [`GetMessagesInput`] for the cursors; items are oldest first.
    pub async fn get_messages(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: GetMessagesInput,
    ) -> Result<PageDto<MessageDto>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        let before = input.before.as_deref().map(|c| parse_seq("before", c)).transpose()?;
        let after = input.after.as_deref().map(|c| parse_seq("after", c)).transpose()?;
        if let (Some(from), Some(to)) = (input.from, input.to)
            && from > to
        {
            return Err(AppError::validation("from", "from must not be after to"));
        }
        let side = self.side(caller, id).await?;
        self.history(caller, &side, HistoryRange { before, after, from: input.from, to: input.to, limit }).await
    }

    async fn history(
        &self,
        caller: &CallerContext,
        side: &Conversation,
        range: HistoryRange,
    ) -> Result<PageDto<MessageDto>, AppError> {
        let forward = range.after.is_some();
        let query = MessagePageQuery {
            tenant: caller.tenant,
            conversation: side.id(),
            viewer: caller.user,
            after: range.after.unwrap_or(Seq::ZERO).max(side.cleared_seq()),
            before: range.before,
            from: range.from,
            to: range.to,
            order: if forward { PageOrder::OldestFirst } else { PageOrder::NewestFirst },
            limit: range.limit + 1,
        };
        let messages = self.core.repos.messages.page(&query).await?;
        let ids: Vec<MessageId> = messages.iter().map(Message::id).collect();
        let reactions = self.reactions(caller, &ids).await?;
        let mut result =
            page(messages, range.limit, |m| m.seq().to_string(), |m| message_dto(&m, &reactions, Some(caller.user)));
        if !forward {
            result.items.reverse();
        }
        Ok(result)
    }

    async fn reactions(&self, caller: &CallerContext, ids: &[MessageId]) -> Result<Vec<Reaction>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.core.repos.messages.reactions(caller.tenant, ids).await?)
    }

    /// A message the caller can see (member of its conversation, not cleared or deleted for them), with
    /// their side of its conversation.
    async fn visible(&self, caller: &CallerContext, id: MessageId) -> Result<(Message, Conversation), AppError> {
        let repos = &self.core.repos;
        let message = repos.messages.find(caller.tenant, id).await?.ok_or(AppError::not_found("message"))?;
        let side = repos
            .conversations
            .find(caller.tenant, message.conversation(), caller.user)
            .await?
            .filter(|side| message.seq() > side.cleared_seq())
            .ok_or(AppError::not_found("message"))?;
        // The repositories have no "is it hidden from this member" lookup; a one-row page that applies the
        // member's view answers it.
        let probe = MessagePageQuery {
            after: Seq::new(message.seq().value() - 1),
            before: Some(message.seq().next()),
            ..MessagePageQuery::all(caller.tenant, message.conversation(), caller.user, PageOrder::OldestFirst, 1)
        };
        if !repos.messages.page(&probe).await?.iter().any(|m| m.id() == id) {
            return Err(AppError::not_found("message"));
        }
        Ok((message, side))
    }

    /// One message, for members of its conversation (for example after a lightweight notification).
    pub async fn get_message(&self, caller: &CallerContext, id: MessageId) -> Result<MessageDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (message, _) = self.visible(caller, id).await?;
        self.message_with_reactions(caller, &message).await
    }

    /// The direct conversation with a user and its latest messages (ABP's GetConversation). It is not
    /// created: `conversation` is `None` until one of the two writes.
    pub async fn get_direct_conversation(
        &self,
        caller: &CallerContext,
        user: UserId,
        input: GetDirectConversationInput,
    ) -> Result<DirectConversationDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        if user == caller.user {
            return Err(AppError::validation("targetUserId", "a conversation with yourself is not allowed"));
        }
        let repos = &self.core.repos;
        let target = match repos.users.find(caller.tenant, user).await? {
            Some(target) => Some(target),
            None if import_unknown_users(&self.core, caller.tenant, &[user]).await? => {
                repos.users.find(caller.tenant, user).await?
            }
            None => None,
        };
        let target = target.ok_or(AppError::not_found("user"))?;
        let Some(side) = repos.conversations.find_direct(caller.tenant, caller.user, user).await? else {
            return Ok(DirectConversationDto {
                target_user: user_dto(&target),
                conversation: None,
                messages: Vec::new(),
                has_more: false,
                next_cursor: None,
            });
        };
        let range = HistoryRange { before: None, after: None, from: None, to: None, limit };
        let history = self.history(caller, &side, range).await?;
        let conversation = self.one_dto(caller, side).await?;
        Ok(DirectConversationDto {
            target_user: user_dto(&target),
            conversation: Some(conversation),
            messages: history.items,
            has_more: history.has_more,
            next_cursor: history.next_cursor,
        })
    }

    /// Gets or creates the direct conversation with an active user of the caller's tenant (idempotent);
    /// a side the caller had deleted is shown again.
    pub async fn open_direct_conversation(
        &self,
        caller: &CallerContext,
        input: OpenDirectConversationInput,
    ) -> Result<ConversationDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (tenant, user, peer) = (caller.tenant, caller.user, UserId::from_uuid(input.target_user_id));
        let (mut retried, mut looked_up) = (false, false);
        let side = loop {
            let manager = self.core.manager.clone();
            let now = self.core.now();
            let result = self
                .core
                .commit(move |tx| {
                    Box::pin(async move {
                        let side = manager.open_direct(tx, tenant, user, peer, now).await?;
                        if !side.is_hidden() {
                            return Ok(side);
                        }
                        let reveal = |s: &mut Conversation| {
                            s.reveal();
                            true
                        };
                        manager.update_side(tx, tenant, user, side.id(), reveal, now).await
                    })
                })
                .await;
            match result {
                Err(AppError::Conflict { .. }) if !retried => retried = true,
                Err(AppError::NotFound { resource: "user" })
                    if !looked_up && import_unknown_users(&self.core, tenant, &[peer]).await? =>
                {
                    looked_up = true;
                }
                other => break other?,
            }
        };
        self.one_dto(caller, side).await
    }

    /// Marks the conversation read up to a message (default: everything); members get `message.read`.
    pub async fn mark_read(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: MarkReadInput,
    ) -> Result<(), AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (manager, tenant, user, now) = (self.core.manager.clone(), caller.tenant, caller.user, self.core.now());
        let up_to = input.up_to_message_id.map(MessageId::from_uuid);
        self.core
            .commit(move |tx| Box::pin(async move { manager.mark_read(tx, tenant, user, id, up_to, now).await }))
            .await?;
        Ok(())
    }

    /// Records that the caller's device received these messages; members get `message.delivered` for each
    /// conversation whose watermark moved. Unknown or invisible messages are skipped.
    pub async fn mark_delivered(&self, caller: &CallerContext, input: MarkDeliveredInput) -> Result<(), AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        if input.message_ids.len() > MAX_DELIVERED_IDS {
            return Err(AppError::validation("messageIds", format!("at most {MAX_DELIVERED_IDS} message ids")));
        }
        if input.message_ids.is_empty() {
            return Ok(());
        }
        let (manager, tenant, user, now) = (self.core.manager.clone(), caller.tenant, caller.user, self.core.now());
        let ids: Vec<MessageId> = input.message_ids.iter().map(|id| MessageId::from_uuid(*id)).collect();
        self.core
            .commit(move |tx| Box::pin(async move { manager.mark_delivered(tx, tenant, user, &ids, now).await }))
            .await?;
        Ok(())
    }

    /// Replaces the text of the caller's own message, within the tenant's edit window; members get
    /// `message.updated`.
    pub async fn edit_message(
        &self,
        caller: &CallerContext,
        id: MessageId,
        input: EditMessageInput,
    ) -> Result<MessageDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let text = MessageText::parse(&input.text, self.core.options.max_text_length)?;
        let settings = self.core.tenant_settings(caller.tenant).await?;
        let (manager, actor) = (self.core.manager.clone(), self.actor(caller));
        let committed = self
            .core
            .transact(move |tx| Box::pin(async move { manager.edit(tx, actor, id, text, &settings).await }))
            .await?;
        let reactions = self.reactions(caller, &[id]).await.unwrap_or_default();
        self.core.deliver(&committed.events, &reactions, committed.turn).await;
        Ok(message_dto(&committed.value, &reactions, Some(caller.user)))
    }

    fn actor(&self, caller: &CallerContext) -> Actor {
        Actor { tenant: caller.tenant, user: caller.user, now: self.core.now() }
    }

    /// Deletes a message for the caller only (`me`), or for everyone (its sender, or a group owner/admin,
    /// as the tenant's deletion settings allow).
    pub async fn delete_message(
        &self,
        caller: &CallerContext,
        id: MessageId,
        input: DeleteMessageInput,
    ) -> Result<(), AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let scope = match input.scope {
            DeleteScopeDto::Me => DeleteScope::Me,
            DeleteScopeDto::Everyone => DeleteScope::Everyone,
        };
        let settings = self.core.tenant_settings(caller.tenant).await?;
        let (manager, actor) = (self.core.manager.clone(), self.actor(caller));
        self.core
            .commit(move |tx| Box::pin(async move { manager.delete_message(tx, actor, id, scope, &settings).await }))
            .await
    }

    /// Adds the caller's reaction (idempotent); members get `message.reaction` when it is new.
    pub async fn add_reaction(&self, caller: &CallerContext, id: MessageId, emoji: &str) -> Result<(), AppError> {
        self.react(caller, id, emoji, true).await
    }

    /// Removes the caller's reaction (idempotent); members get `message.reaction` when it existed.
    pub async fn remove_reaction(&self, caller: &CallerContext, id: MessageId, emoji: &str) -> Result<(), AppError> {
        self.react(caller, id, emoji, false).await
    }

    async fn react(&self, caller: &CallerContext, id: MessageId, emoji: &str, add: bool) -> Result<(), AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let emoji = Emoji::parse(emoji)?;
        let (manager, actor) = (self.core.manager.clone(), self.actor(caller));
        self.core.commit(move |tx| Box::pin(async move { manager.react(tx, actor, id, emoji, add).await })).await?;
        Ok(())
    }

    /// Mutes or unmutes the conversation for the caller; their other devices get `conversation.updated`.
    pub async fn set_muted(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: MuteConversationInput,
    ) -> Result<ConversationDto, AppError> {
        let muted = input.muted;
        self.update_side(caller, id, move |s| s.set_muted(muted)).await
    }

    /// Archives or unarchives the conversation for the caller; their other devices get
    /// `conversation.updated`.
    pub async fn set_archived(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        input: ArchiveConversationInput,
    ) -> Result<ConversationDto, AppError> {
        let archived = input.archived;
        self.update_side(caller, id, move |s| s.set_archived(archived)).await
    }

    async fn update_side(
        &self,
        caller: &CallerContext,
        id: ConversationId,
        change: impl FnOnce(&mut Conversation) -> bool + Send + 'static,
    ) -> Result<ConversationDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (manager, tenant, user, now) = (self.core.manager.clone(), caller.tenant, caller.user, self.core.now());
        let side = self
            .core
            .commit(move |tx| Box::pin(async move { manager.update_side(tx, tenant, user, id, change, now).await }))
            .await?;
        self.one_dto(caller, side).await
    }

    /// Deletes the caller's side ("delete conversation" for me): history so far is cleared and the
    /// conversation leaves the list until the next message. Refused when the tenant disallows it.
    pub async fn delete_conversation(&self, caller: &CallerContext, id: ConversationId) -> Result<(), AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let settings = self.core.tenant_settings(caller.tenant).await?;
        let (manager, tenant, user, now) = (self.core.manager.clone(), caller.tenant, caller.user, self.core.now());
        self.core
            .commit(move |tx| Box::pin(async move { manager.delete_side(tx, tenant, user, id, &settings, now).await }))
            .await
    }

    /// Full-text search over the caller's conversations (or one of them), best matches first; each result
    /// carries its conversation id. The cursor is opaque.
    pub async fn search_messages(
        &self,
        caller: &CallerContext,
        input: SearchMessagesInput,
    ) -> Result<PageDto<MessageDto>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        let text = input.q.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_SEARCH_TEXT || text.contains('\0') {
            return Err(AppError::validation("q", format!("q must be 1 to {MAX_SEARCH_TEXT} characters")));
        }
        let offset = input.cursor.as_deref().map(|c| parse_offset("cursor", c)).transpose()?.unwrap_or(0);
        let conversation = input.conversation_id.map(ConversationId::from_uuid);
        if let Some(id) = conversation {
            self.side(caller, id).await?;
        }
        let query = MessageSearchQuery {
            tenant: caller.tenant,
            viewer: caller.user,
            text: text.to_owned(),
            conversation,
            offset,
            limit: limit + 1,
        };
        let found = self.core.repos.messages.search(&query).await?;
        let ids: Vec<MessageId> = found.iter().map(Message::id).collect();
        let reactions = self.reactions(caller, &ids).await?;
        let mut result = page(found, limit, |_| String::new(), |m| message_dto(&m, &reactions, Some(caller.user)));
        result.next_cursor = result.has_more.then(|| (offset + limit).to_string());
        Ok(result)
    }

    /// Who of the conversation's members has received and read a message (members only).
    pub async fn get_receipts(&self, caller: &CallerContext, id: MessageId) -> Result<ReceiptsDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let (message, _) = self.visible(caller, id).await?;
        let receipts =
            self.core.repos.conversations.receipts(caller.tenant, message.conversation(), message.seq()).await?;
        Ok(ReceiptsDto {
            message_id: id.as_uuid(),
            members: receipts
                .into_iter()
                .map(|r| MemberReceiptDto {
                    user_id: r.user.as_uuid(),
                    delivered_at: r.delivered_at,
                    read_at: r.read_at,
                })
                .collect(),
        })
    }

    /// Tells the other members that the caller started or stopped typing (ephemeral `typing` event, never
    /// stored). Starting to type is limited to once per typing period; stopping counts as an ordinary call
    /// so that a "stopped" is never lost to the limit.
    pub async fn typing(&self, caller: &CallerContext, input: TypingInput) -> Result<(), AppError> {
        let kind = if input.is_typing { RateLimitKind::Typing } else { RateLimitKind::Other };
        self.core.admit(caller, kind)?;
        let id = ConversationId::from_uuid(input.conversation_id);
        let side = self.side(caller, id).await?;
        let recipients: Vec<UserId> = match side.kind() {
            ConversationKind::Direct { peer } => vec![peer],
            ConversationKind::Group => {
                let sides = self.core.repos.conversations.sides(caller.tenant, id).await?;
                sides.iter().map(Conversation::user).filter(|u| *u != caller.user).collect()
            }
        };
        if recipients.is_empty() {
            return Ok(());
        }
        let event = typing_event(caller.tenant, id, caller.user, input.is_typing, recipients);
        self.core.deliver_realtime(&[event]).await;
        Ok(())
    }
}

/// Bounds of one history page.
struct HistoryRange {
    before: Option<Seq>,
    after: Option<Seq>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    limit: usize,
}
