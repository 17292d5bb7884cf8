//! [`Conn`]: what the store's statements run on — the pool, the writer's transaction through the async
//! driver, or the SQLite writer's own connection (`direct`). Statements are built once, with sea-orm's
//! builders or as raw SQL, and run on whichever the caller holds; that keeps one implementation of every
//! read and write for all of them.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, QueryResult,
    QuerySelect, QueryTrait, Select, Statement, TryGetable, TryIntoModel,
};
use uuid::Uuid;

use chat_domain::RepositoryError;

use super::direct::{self, DirectSqlite};
use super::sql::db_err;

/// A connection the store's statements run on (see the module docs).
#[derive(Clone, Copy)]
pub(crate) enum Conn<'c> {
    /// The read pool.
    Pool(&'c DatabaseConnection),
    /// The writer's batch transaction through the async driver (PostgreSQL, in-memory SQLite).
    Driver(&'c DatabaseTransaction),
    /// The writer's own SQLite connection, inside its batch transaction.
    Direct(&'c DirectSqlite),
}

impl Conn<'_> {
    /// The SQL dialect statements are built for.
    pub(crate) fn backend(&self) -> DbBackend {
        match self {
            Self::Pool(c) => c.get_database_backend(),
            Self::Driver(c) => c.get_database_backend(),
            Self::Direct(_) => DbBackend::Sqlite,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub(crate) async fn execute(&self, statement: Statement) -> Result<u64, RepositoryError> {
        match self {
            Self::Pool(c) => c.execute_raw(statement).await.map(|r| r.rows_affected()),
            Self::Driver(c) => c.execute_raw(statement).await.map(|r| r.rows_affected()),
            Self::Direct(c) => c.execute(&statement),
        }
        .map_err(db_err)
    }

    /// Runs SQL without values (possibly several statements).
    pub(crate) async fn execute_unprepared(&self, sql: &str) -> Result<(), RepositoryError> {
        match self {
            Self::Pool(c) => c.execute_unprepared(sql).await.map(drop),
            Self::Driver(c) => c.execute_unprepared(sql).await.map(drop),
            Self::Direct(c) => c.execute_batch(sql),
        }
        .map_err(db_err)
    }

    /// Runs an insert (one row or many) without reading anything back; returns the rows inserted.
    pub(crate) async fn insert(&self, insert: impl QueryTrait) -> Result<u64, RepositoryError> {
        self.execute(insert.build(self.backend())).await
    }

    /// Every model a select finds.
    pub(crate) async fn all<E>(&self, select: Select<E>) -> Result<Vec<E::Model>, RepositoryError>
    where
        E: EntityTrait,
        E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
    {
        match self {
            Self::Pool(c) => select.all(*c).await,
            Self::Driver(c) => select.all(*c).await,
            Self::Direct(c) => c
                .query(&select.build(DbBackend::Sqlite))
                .and_then(|found| found.rows.into_iter().map(|row| direct::model::<E>(&found.names, row)).collect()),
        }
        .map_err(db_err)
    }

    /// The first model a select finds.
    pub(crate) async fn one<E>(&self, select: Select<E>) -> Result<Option<E::Model>, RepositoryError>
    where
        E: EntityTrait,
        E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
    {
        match self {
            Self::Pool(c) => select.one(*c).await.map_err(db_err),
            Self::Driver(c) => select.one(*c).await.map_err(db_err),
            Self::Direct(_) => Ok(self.all(select.limit(1)).await?.into_iter().next()),
        }
    }

    /// The rows of a raw query.
    pub(crate) async fn rows(&self, statement: Statement) -> Result<Vec<Row>, RepositoryError> {
        match self {
            Self::Pool(c) => c.query_all_raw(statement).await.map(|rows| rows.into_iter().map(Row::Driver).collect()),
            Self::Driver(c) => c.query_all_raw(statement).await.map(|rows| rows.into_iter().map(Row::Driver).collect()),
            Self::Direct(c) => c.query(&statement).map(|found| {
                let names: std::sync::Arc<[String]> = found.names.into();
                found.rows.into_iter().map(|values| Row::Direct { names: names.clone(), values }).collect()
            }),
        }
        .map_err(db_err)
    }

    /// The first row of a raw query.
    pub(crate) async fn row(&self, statement: Statement) -> Result<Option<Row>, RepositoryError> {
        Ok(self.rows(statement).await?.into_iter().next())
    }
}

/// One row of a raw query.
pub(crate) enum Row {
    Driver(QueryResult),
    Direct { names: std::sync::Arc<[String]>, values: Vec<rusqlite::types::Value> },
}

impl Row {
    /// The value of a column, by name.
    pub(crate) fn get<T: Column>(&self, name: &str) -> Result<T, RepositoryError> {
        match self {
            Self::Driver(row) => row.try_get::<T>("", name).map_err(db_err),
            Self::Direct { names, values } => names
                .iter()
                .position(|n| n == name)
                .and_then(|i| values.get(i))
                .and_then(T::from_sqlite)
                .ok_or_else(|| RepositoryError::storage_msg(format!("column {name} is missing or of another type"))),
        }
    }
}

/// A type a raw query's column is read as.
pub(crate) trait Column: TryGetable {
    /// The value from what SQLite stored, as the async driver decodes it.
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self>;
}

impl Column for i64 {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Integer(n) => Some(*n),
            _ => None,
        }
    }
}

impl Column for Uuid {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Blob(b) => Uuid::from_slice(b).ok(),
            _ => None,
        }
    }
}
