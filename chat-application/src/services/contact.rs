//! Contacts (after ABP): the people the caller talks with, and their unread counts.

use std::collections::HashSet;
use std::sync::Arc;

use chat_domain::conversation::{Conversation, ConversationListQuery};
use chat_domain::user::{ChatUser, UserSearchQuery};
use chat_domain::{MessageId, UserId};

use crate::caller::CallerContext;
use crate::core::Core;
use crate::dto::{ContactDto, GetContactsInput, UnreadCountDto};
use crate::error::AppError;
use crate::mapping::{message_dto, side_of};
use crate::pagination::page_limit;
use crate::rate_limit::RateLimitKind;

/// Longest contact filter, in characters.
pub const MAX_FILTER: usize = 256;
/// Conversation sides read per round while collecting contacts.
const SCAN_BATCH: usize = 100;

/// The caller's contacts and total unread count (after ABP's `ContactAppService`).
#[derive(Clone)]
pub struct ContactAppService {
    core: Arc<Core>,
}

impl std::fmt::Debug for ContactAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactAppService").finish_non_exhaustive()
    }
}

fn matches(user: &ChatUser, filter: Option<&str>) -> bool {
    let Some(filter) = filter else { return true };
    let name = user.name();
    [Some(name.user_name()), name.name(), name.surname()]
        .into_iter()
        .flatten()
        .any(|part| part.to_lowercase().contains(filter))
}

impl ContactAppService {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// People the caller has a direct conversation with, newest activity first, with the last message and
    /// unread count; `filter` matches user name, name or surname (case-insensitive). With
    /// `includeOtherContacts`, and when the tenant allows finding people (`searchOtherContacts`), other
    /// active users of the tenant follow (without a conversation). At most `limit` contacts.
    pub async fn get_contacts(
        &self,
        caller: &CallerContext,
        input: GetContactsInput,
    ) -> Result<Vec<ContactDto>, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let limit = page_limit(input.limit)?;
        let filter = input.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_lowercase);
        if filter.as_ref().is_some_and(|f| f.chars().count() > MAX_FILTER) {
            return Err(AppError::validation("filter", format!("filter must be at most {MAX_FILTER} characters")));
        }
        let repos = &self.core.repos;
        let tenant = caller.tenant;
        let mut found: Vec<(Conversation, ChatUser)> = Vec::new();
        let mut talked_with: HashSet<UserId> = HashSet::new();
        let mut before = None;
        let mut exhausted = false;
        while found.len() < limit {
            let query =
                ConversationListQuery { tenant, user: caller.user, include_archived: true, before, limit: SCAN_BATCH };
            let sides = repos.conversations.list(&query).await?;
            exhausted = sides.len() < SCAN_BATCH;
            before = sides.last().map(|s| (s.last_activity_at(), s.id()));
            let peers: Vec<UserId> = sides.iter().filter_map(Conversation::peer).collect();
            talked_with.extend(peers.iter().copied());
            let users = if peers.is_empty() { Vec::new() } else { repos.users.find_many(tenant, &peers).await? };
            for side in sides {
                let Some(user) = side.peer().and_then(|p| users.iter().find(|u| u.id() == p)) else { continue };
                if matches(user, filter.as_deref()) && found.len() < limit {
                    found.push((side.clone(), user.clone()));
                }
            }
            if exhausted {
                break;
            }
        }
        let last_ids: Vec<MessageId> = found.iter().filter_map(|(s, _)| s.last_message().map(|m| m.id)).collect();
        let (messages, reactions) = if last_ids.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (repos.messages.find_many(tenant, &last_ids).await?, repos.messages.reactions(tenant, &last_ids).await?)
        };
        let mut contacts: Vec<ContactDto> = found
            .iter()
            .map(|(side, user)| {
                let last = side.last_message();
                ContactDto {
                    user_id: user.id().as_uuid(),
                    user_name: user.name().user_name().to_owned(),
                    name: user.name().name().map(str::to_owned),
                    surname: user.name().surname().map(str::to_owned),
                    conversation_id: Some(side.id().as_uuid()),
                    last_message: last
                        .and_then(|l| messages.iter().find(|m| m.id() == l.id))
                        .map(|m| message_dto(m, &reactions, Some(caller.user))),
                    last_message_side: last.map(|l| side_of(l.sender, caller.user)),
                    last_message_date: last.map(|l| l.at),
                    unread_message_count: side.unread_count(),
                }
            })
            .collect();
        if input.include_other_contacts
            && exhausted
            && contacts.len() < limit
            && self.core.tenant_settings(tenant).await?.search_other_contacts
        {
            let mut after = None;
            while contacts.len() < limit {
                let query = UserSearchQuery { tenant, filter: filter.clone(), after, limit: SCAN_BATCH };
                let users = repos.users.search(&query).await?;
                let done = users.len() < SCAN_BATCH;
                after = users.last().map(ChatUser::id);
                for user in users {
                    let skip = user.id() == caller.user || talked_with.contains(&user.id()) || !user.is_active();
                    if !skip && contacts.len() < limit {
                        contacts.push(ContactDto {
                            user_id: user.id().as_uuid(),
                            user_name: user.name().user_name().to_owned(),
                            name: user.name().name().map(str::to_owned),
                            surname: user.name().surname().map(str::to_owned),
                            conversation_id: None,
                            last_message: None,
                            last_message_side: None,
                            last_message_date: None,
                            unread_message_count: 0,
                        });
                    }
                }
                if done {
                    break;
                }
            }
        }
        Ok(contacts)
    }

    /// Total unread messages across the caller's conversations (kept up to date on write, so O(1)).
    pub async fn get_total_unread_count(&self, caller: &CallerContext) -> Result<UnreadCountDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let count = self.core.repos.conversations.total_unread(caller.tenant, caller.user).await?;
        Ok(UnreadCountDto { count })
    }
}
