//! Test support (feature `testing`): fresh PostgreSQL schemas, so that tests sharing one server never see
//! each other's data.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_domain::RepositoryError;
use sea_orm::{ConnectionTrait, Database};

/// Prefix of the schemas [`fresh_postgres_schema`] creates.
const PREFIX: &str = "chat_t_";

/// Test schemas older than this are left-overs of earlier runs and are dropped.
const STALE: Duration = Duration::from_secs(30 * 60);

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Creates a fresh schema on the PostgreSQL server `url` names and returns a URL whose connections use it
/// (`search_path`), so that every connection pool opened on that URL — several nodes of a cluster test
/// included — shares it. Schemas this function created more than half an hour ago are dropped on the way.
pub async fn fresh_postgres_schema(url: &str) -> Result<String, RepositoryError> {
    let admin = Database::connect(url).await.map_err(RepositoryError::storage)?;
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT nspname FROM pg_namespace WHERE nspname LIKE '{}%'", PREFIX.replace('_', "\\_")),
        ))
        .await
        .map_err(RepositoryError::storage)?;
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "nspname") else { continue };
        let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        if now_secs().saturating_sub(created) > STALE.as_secs() {
            let _ = admin.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).await;
        }
    }
    let unique = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let schema = format!("{PREFIX}{}_{unique}", now_secs());
    admin.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.map_err(RepositoryError::storage)?;
    let _ = admin.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}
