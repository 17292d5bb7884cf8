//! The read ports (each read takes a snapshot) and the single-row writes that need no unit of work.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::attachment::{Attachment, AttachmentRepository};
use crate::conversation::{Conversation, ConversationListQuery, ConversationRepository, MemberReceipt};
use crate::error::RepositoryError;
use crate::event::{EventRepository, EventWindow, StoredEvent};
use crate::group::{ChatGroup, ChatGroupRepository, GroupMember, GroupMemberPageQuery};
use crate::ids::{AttachmentId, ConversationId, EventSeq, MessageId, Seq, TenantId, UserId};
use crate::message::{ClientMessageId, Message, MessagePageQuery, MessageRepository, MessageSearchQuery, Reaction};
use crate::settings::{SettingsRepository, TenantSettings, UserSettings};
use crate::user::{ChatUser, ChatUserRepository, UserSearchQuery};

use super::store::InMemoryChatStore;

#[async_trait]
impl ChatUserRepository for InMemoryChatStore {
    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError> {
        Ok(self.snapshot().users.get(&(tenant, id)).cloned())
    }

    async fn find_many(&self, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError> {
        Ok(self.snapshot().users_in(tenant, ids))
    }

    async fn search(&self, query: &UserSearchQuery) -> Result<Vec<ChatUser>, RepositoryError> {
        Ok(self.snapshot().search_users(query))
    }

    async fn upsert(&self, user: &ChatUser) -> Result<(), RepositoryError> {
        self.write(|state| {
            state.users.insert((user.tenant(), user.id()), user.clone());
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl ConversationRepository for InMemoryChatStore {
    async fn find(
        &self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        Ok(self.snapshot().side(tenant, id, user).cloned())
    }

    async fn find_direct(
        &self,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        Ok(self.snapshot().direct(tenant, user, peer).cloned())
    }

    async fn list(&self, query: &ConversationListQuery) -> Result<Vec<Conversation>, RepositoryError> {
        Ok(self.snapshot().list(query))
    }

    async fn sides(&self, tenant: TenantId, id: ConversationId) -> Result<Vec<Conversation>, RepositoryError> {
        Ok(self.snapshot().sides_of(tenant, id).cloned().collect())
    }

    async fn member_count(&self, tenant: TenantId, id: ConversationId) -> Result<u64, RepositoryError> {
        Ok(self.snapshot().sides_of(tenant, id).count() as u64)
    }

    async fn total_unread(&self, tenant: TenantId, user: UserId) -> Result<i64, RepositoryError> {
        Ok(self.snapshot().total_unread(tenant, user))
    }

    async fn receipts(
        &self,
        tenant: TenantId,
        id: ConversationId,
        seq: Seq,
    ) -> Result<Vec<MemberReceipt>, RepositoryError> {
        Ok(self.snapshot().receipts(tenant, id, seq))
    }
}

#[async_trait]
impl MessageRepository for InMemoryChatStore {
    async fn find(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError> {
        Ok(self.snapshot().message(tenant, id).cloned())
    }

    async fn find_many(&self, tenant: TenantId, ids: &[MessageId]) -> Result<Vec<Message>, RepositoryError> {
        Ok(self.snapshot().messages_in(tenant, ids))
    }

    async fn find_by_client_id(
        &self,
        tenant: TenantId,
        sender: UserId,
        client_message_id: &ClientMessageId,
    ) -> Result<Option<Message>, RepositoryError> {
        Ok(self.snapshot().message_by_client_id(tenant, sender, client_message_id).cloned())
    }

    async fn page(&self, query: &MessagePageQuery) -> Result<Vec<Message>, RepositoryError> {
        Ok(self.snapshot().page(query))
    }

    async fn search(&self, query: &MessageSearchQuery) -> Result<Vec<Message>, RepositoryError> {
        Ok(self.snapshot().search(query))
    }

    async fn reactions(&self, tenant: TenantId, messages: &[MessageId]) -> Result<Vec<Reaction>, RepositoryError> {
        let state = self.snapshot();
        let mut ids = messages.to_vec();
        ids.sort();
        ids.dedup();
        Ok(ids
            .into_iter()
            .filter_map(|id| state.reactions.get(&(tenant, id)))
            .flat_map(|reactions| reactions.values().cloned())
            .collect())
    }
}

#[async_trait]
impl ChatGroupRepository for InMemoryChatStore {
    async fn find(&self, tenant: TenantId, id: ConversationId) -> Result<Option<ChatGroup>, RepositoryError> {
        Ok(self.snapshot().groups.get(&(tenant, id)).cloned())
    }

    async fn members(&self, query: &GroupMemberPageQuery) -> Result<Vec<GroupMember>, RepositoryError> {
        Ok(self.snapshot().group_members(query))
    }
}

#[async_trait]
impl SettingsRepository for InMemoryChatStore {
    async fn tenant(&self, tenant: TenantId) -> Result<TenantSettings, RepositoryError> {
        Ok(self.snapshot().tenant_settings.get(&tenant).cloned().unwrap_or_default())
    }

    async fn save_tenant(&self, tenant: TenantId, settings: &TenantSettings) -> Result<(), RepositoryError> {
        self.write(|state| {
            state.tenant_settings.insert(tenant, settings.clone());
            Ok(())
        })
        .await
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<UserSettings, RepositoryError> {
        Ok(self.snapshot().user_settings.get(&(tenant, user)).cloned().unwrap_or_default())
    }

    async fn save_user(&self, tenant: TenantId, user: UserId, settings: &UserSettings) -> Result<(), RepositoryError> {
        self.write(|state| {
            state.user_settings.insert((tenant, user), settings.clone());
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl EventRepository for InMemoryChatStore {
    async fn after(
        &self,
        tenant: TenantId,
        user: UserId,
        after: EventSeq,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, RepositoryError> {
        Ok(self.snapshot().events_after(tenant, user, after, limit))
    }

    async fn window(&self, tenant: TenantId, user: UserId) -> Result<EventWindow, RepositoryError> {
        Ok(self.snapshot().window(tenant, user))
    }

    async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, RepositoryError> {
        self.write(|state| {
            let old: Vec<_> = state.events.iter().filter(|(_, e)| e.at < older_than).map(|(key, _)| *key).collect();
            for &(tenant, user, seq) in &old {
                state.events.remove(&(tenant, user, seq));
                let mut window = state.window(tenant, user);
                window.pruned_through = window.pruned_through.max(seq);
                state.streams.insert((tenant, user), window);
            }
            Ok(old.len() as u64)
        })
        .await
    }
}

#[async_trait]
impl AttachmentRepository for InMemoryChatStore {
    async fn insert(&self, attachment: &Attachment) -> Result<(), RepositoryError> {
        self.write(|state| {
            let parts = attachment.parts();
            let key = (parts.tenant, parts.id);
            if state.attachments.contains_key(&key) {
                return Err(RepositoryError::Conflict("an attachment with this id already exists".to_owned()));
            }
            state.attachments.insert(key, attachment.clone());
            Ok(())
        })
        .await
    }

    async fn find(&self, tenant: TenantId, id: AttachmentId) -> Result<Option<Attachment>, RepositoryError> {
        Ok(self.snapshot().attachments.get(&(tenant, id)).cloned())
    }
}
