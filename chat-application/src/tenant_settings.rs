//! Tenants' settings as the services read them on every send, upload and delete: from memory, fetched
//! again after a short time.
//!
//! Without it every sent message costs a database read of a row that changes a few times in a tenant's
//! life. A change made through this module (`PUT /settings`) takes effect at once in this process; other
//! processes sharing the database (nodes of a cluster, an embedding application's own writes) see it when
//! their copy expires, within [`ChatOptions::tenant_settings_ttl`](crate::ChatOptions::tenant_settings_ttl).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chat_domain::settings::{SettingsRepository, TenantSettings};
use chat_domain::{RepositoryError, TenantId};
use chrono::{DateTime, Utc};

/// Tenants kept at most; past it, expired copies are dropped, and all of them if none had expired.
const MAX_TENANTS: usize = 10_000;

/// Copies of tenants' settings, each fetched at most once per `ttl`.
#[derive(Debug)]
pub(crate) struct TenantSettingsCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<TenantId, (DateTime<Utc>, TenantSettings)>,
    /// Moves on every invalidation, so that a read that started before a change cannot store what it
    /// read after the change was made.
    generation: u64,
}

impl TenantSettingsCache {
    /// A cache whose copies live for `ttl`; zero reads the repository every time.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant's settings: the copy fetched less than `ttl` before `now`, or the repository's.
    pub(crate) async fn get(
        &self,
        repository: &dyn SettingsRepository,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<TenantSettings, RepositoryError> {
        if self.ttl.is_zero() {
            return repository.tenant(tenant).await;
        }
        let generation = {
            let state = self.state();
            if let Some((fetched, settings)) = state.entries.get(&tenant)
                && self.fresh(*fetched, now)
            {
                return Ok(settings.clone());
            }
            state.generation
        };
        let settings = repository.tenant(tenant).await?;
        let mut state = self.state();
        if state.generation == generation {
            if state.entries.len() >= MAX_TENANTS {
                state.entries.retain(|_, (fetched, _)| self.fresh(*fetched, now));
                if state.entries.len() >= MAX_TENANTS {
                    state.entries.clear();
                }
            }
            state.entries.insert(tenant, (now, settings.clone()));
        }
        Ok(settings)
    }

    /// Forgets the tenant's copy (its settings were just changed), so that the next read fetches them.
    pub(crate) fn invalidate(&self, tenant: TenantId) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.remove(&tenant);
    }

    fn fresh(&self, fetched: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        // A clock that went back makes the copy stale rather than fresh for longer.
        (now - fetched).to_std().is_ok_and(|age| age < self.ttl)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use chat_domain::UserId;
    use chat_domain::settings::UserSettings;
    use uuid::Uuid;

    use super::*;

    /// Counts the reads and answers what was saved last; with a gate, a read says when it starts and
    /// answers only when released, so that a change can happen while it is under way.
    #[derive(Default)]
    struct Counting {
        reads: AtomicUsize,
        saved: Mutex<TenantSettings>,
        gate: Option<Gate>,
    }

    #[derive(Default)]
    struct Gate {
        started: tokio::sync::Notify,
        release: tokio::sync::Notify,
    }

    #[async_trait]
    impl SettingsRepository for Counting {
        async fn tenant(&self, _: TenantId) -> Result<TenantSettings, RepositoryError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = &self.gate {
                gate.started.notify_one();
                gate.release.notified().await;
            }
            Ok(self.saved.lock().unwrap_or_else(PoisonError::into_inner).clone())
        }
        async fn save_tenant(&self, _: TenantId, settings: &TenantSettings) -> Result<(), RepositoryError> {
            *self.saved.lock().unwrap_or_else(PoisonError::into_inner) = settings.clone();
            Ok(())
        }
        async fn user(&self, _: TenantId, _: UserId) -> Result<UserSettings, RepositoryError> {
            Ok(UserSettings::default())
        }
        async fn save_user(&self, _: TenantId, _: UserId, _: &UserSettings) -> Result<(), RepositoryError> {
            Ok(())
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_copy_serves_reads_until_it_expires() {
        let repo = Counting::default();
        let cache = TenantSettingsCache::new(Duration::from_secs(5));
        let tenant = TenantId::from_uuid(Uuid::new_v4());
        for second in [0, 1, 4] {
            cache.get(&repo, tenant, at(second)).await.expect("settings");
        }
        assert_eq!(repo.reads.load(Ordering::SeqCst), 1, "one read within the time to live");
        cache.get(&repo, tenant, at(5)).await.expect("settings");
        assert_eq!(repo.reads.load(Ordering::SeqCst), 2, "read again once the copy expired");
        cache.get(&repo, TenantId::from_uuid(Uuid::new_v4()), at(5)).await.expect("settings");
        assert_eq!(repo.reads.load(Ordering::SeqCst), 3, "each tenant has its own copy");
    }

    #[tokio::test]
    async fn a_change_made_here_is_read_at_once() {
        let repo = Counting::default();
        let cache = TenantSettingsCache::new(Duration::from_secs(60));
        let tenant = TenantId::from_uuid(Uuid::new_v4());
        assert!(cache.get(&repo, tenant, at(0)).await.expect("settings").chat_enabled);
        let disabled = TenantSettings { chat_enabled: false, ..TenantSettings::default() };
        repo.save_tenant(tenant, &disabled).await.expect("save");
        assert!(cache.get(&repo, tenant, at(1)).await.expect("settings").chat_enabled, "a change elsewhere waits");
        cache.invalidate(tenant);
        assert!(!cache.get(&repo, tenant, at(1)).await.expect("settings").chat_enabled);
    }

    /// A zero time to live reads every time, and a clock that went back makes a copy stale rather than
    /// fresh for longer.
    #[tokio::test]
    async fn some_second_reads_go_to_the_repository() {
        for (ttl, first, second) in [(Duration::ZERO, 0, 0), (Duration::from_secs(5), 10, 9)] {
            let repo = Counting::default();
            let cache = TenantSettingsCache::new(ttl);
            let tenant = TenantId::from_uuid(Uuid::new_v4());
            cache.get(&repo, tenant, at(first)).await.expect("settings");
            cache.get(&repo, tenant, at(second)).await.expect("settings");
            assert_eq!(repo.reads.load(Ordering::SeqCst), 2, "ttl {ttl:?}, reads at {first} then {second}");
        }
    }

    /// A read that began before a change does not keep what it fetched: it may be the old value.
    #[tokio::test]
    async fn a_read_racing_a_change_is_not_kept() {
        let repo = Counting { gate: Some(Gate::default()), ..Counting::default() };
        let gate = repo.gate.as_ref().expect("a gate");
        let cache = TenantSettingsCache::new(Duration::from_secs(60));
        let tenant = TenantId::from_uuid(Uuid::new_v4());
        let read = cache.get(&repo, tenant, at(0));
        let change = async {
            gate.started.notified().await;
            cache.invalidate(tenant);
            gate.release.notify_one();
        };
        let (settings, ()) = tokio::join!(read, change);
        settings.expect("settings");
        assert!(cache.state().entries.is_empty(), "the racing read was kept");
    }

    #[tokio::test]
    async fn the_number_of_tenants_kept_is_bounded() {
        let repo = Counting::default();
        let cache = TenantSettingsCache::new(Duration::from_secs(5));
        for _ in 0..MAX_TENANTS + 10 {
            cache.get(&repo, TenantId::from_uuid(Uuid::new_v4()), at(0)).await.expect("settings");
        }
        assert!(cache.state().entries.len() <= MAX_TENANTS);
    }
}
