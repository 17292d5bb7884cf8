//! The SQLite writer's own connection, on SQLite's C API (rusqlite) instead of the async driver.
//!
//! The async driver runs every statement on its connection's worker thread, so each statement of a unit of
//! work is a thread switch there and back; profiled under load (`docs/performance.md`), those switches
//! were the largest single cost of a send. The writer of a SQLite file therefore owns one connection of
//! its own, runs on its own thread (see `store`), and calls SQLite directly. The statements stay the ones
//! sea-orm builds: [`Conn`](super::conn::Conn) hands them here as [`Statement`]s, so there is one
//! implementation of every write for all backends, and this module only moves values in and out.
//!
//! Values are bound the way the async driver binds them (UUIDs as 16-byte blobs, timestamps as RFC 3339
//! text, JSON as text), so that the pool's reads decode what the writer wrote; entity rows are read back
//! by the entity's own column types.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{OpenFlags, ffi};
use sea_orm::sea_query::ColumnType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IdenStatic, Iterable, RuntimeErr, Statement, TryIntoModel, Value,
};

use chat_domain::RepositoryError;

use super::options::Durability;

/// SQLite's message for a uniqueness violation; `sql::db_err` maps it to a conflict as it does the async
/// driver's error code.
pub(crate) const UNIQUE_VIOLATION: &str = "UNIQUE constraint failed";

/// Prepared statements kept: the writer's statements (units, the batch write-out with its chunk sizes,
/// plain writes) are a few dozen.
const STATEMENT_CACHE: usize = 256;

/// How the writer's connection is set up: the settings the pool's connections get.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DirectOptions {
    pub(crate) durability: Durability,
    pub(crate) busy_timeout: Duration,
    /// `PRAGMA cache_size` in KiB.
    pub(crate) cache_kib: u32,
}

/// The rows a query returned: column names once, then each row's values.
#[derive(Debug)]
pub(crate) struct DirectRows {
    pub(crate) names: Vec<String>,
    pub(crate) rows: Vec<Vec<Sql>>,
}

/// The writer's connection to a SQLite file (see the module docs). The mutex is never contended (one
/// writer thread); it makes the connection shareable by the writer's futures.
#[derive(Debug)]
pub(crate) struct DirectSqlite {
    conn: Mutex<rusqlite::Connection>,
}

impl DirectSqlite {
    /// Opens `path`, which the pool created and migrated.
    pub(crate) fn open(path: &Path, options: DirectOptions) -> Result<Self, RepositoryError> {
        // The connection is used by one thread at a time; SQLite's own mutex would be overhead.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(RepositoryError::storage)?;
        conn.busy_timeout(options.busy_timeout).map_err(RepositoryError::storage)?;
        let synchronous = match options.durability {
            Durability::Strict => "FULL",
            Durability::Fast => "NORMAL",
        };
        // The journal mode (WAL) belongs to the file and was set by the pool. `temp_store`: see `store`.
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous}; PRAGMA cache_size = -{}; \
             PRAGMA temp_store = MEMORY;",
            options.cache_kib
        ))
        .map_err(RepositoryError::storage)?;
        // The query planner stability guarantee: without it, SQLite plans a statement with the values bound
        // to it where they matter (`LIMIT ?`, which every `one()` has), and so prepares such a statement
        // again each time those values are bound, cached or not (measured: 15 % of the writer's time, all
        // of it in `LIMIT 1` lookups). The writer's statements are key lookups and writes, whose plans do
        // not depend on values.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(RepositoryError::storage)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> Result<MutexGuard<'_, rusqlite::Connection>, DbErr> {
        self.conn.lock().map_err(|_| DbErr::Conn(RuntimeErr::Internal("the writer's connection is poisoned".into())))
    }

    /// Runs one statement with its values; returns the rows it changed.
    pub(crate) fn execute(&self, statement: &Statement) -> Result<u64, DbErr> {
        let conn = self.lock()?;
        let mut prepared = conn.prepare_cached(&statement.sql).map_err(exec_err)?;
        let values = statement.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        let n = prepared.execute(rusqlite::params_from_iter(values.iter().map(Bind))).map_err(exec_err)?;
        Ok(n as u64)
    }

    /// Runs SQL without values, possibly several statements (savepoints, `BEGIN`, `COMMIT`).
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<(), DbErr> {
        self.lock()?.execute_batch(sql).map_err(exec_err)
    }

    /// Runs a query; the values are SQLite's own, typed by the caller that knows the columns.
    pub(crate) fn query(&self, statement: &Statement) -> Result<DirectRows, DbErr> {
        let conn = self.lock()?;
        let mut prepared = conn.prepare_cached(&statement.sql).map_err(query_err)?;
        let names: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
        let values = statement.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        let mut rows = prepared.query(rusqlite::params_from_iter(values.iter().map(Bind))).map_err(query_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(query_err)? {
            let mut values = Vec::with_capacity(names.len());
            for i in 0..names.len() {
                values.push(row.get::<usize, Sql>(i).map_err(query_err)?);
            }
            out.push(values);
        }
        Ok(DirectRows { names, rows: out })
    }

    /// Rolls back the transaction if one is open (after a failed `COMMIT`, or an aborted batch).
    pub(crate) fn roll_back(&self) -> Result<(), DbErr> {
        let conn = self.lock()?;
        if conn.is_autocommit() { Ok(()) } else { conn.execute_batch("ROLLBACK").map_err(exec_err) }
    }
}

/// An entity's model from one row of [`DirectRows`], each column read by the entity's own column type.
pub(crate) fn model<E>(names: &[String], values: Vec<Sql>) -> Result<E::Model, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    let mut model = <E::ActiveModel as ActiveModelTrait>::default();
    let mut values: Vec<Option<Sql>> = values.into_iter().map(Some).collect();
    for column in E::Column::iter() {
        let name = column.as_str();
        let slot = names
            .iter()
            .position(|n| n == name)
            .and_then(|i| values.get_mut(i))
            .and_then(Option::take)
            .ok_or_else(|| DbErr::Type(format!("no column {name} in the row")))?;
        let value = typed(column.def().get_column_type(), slot).map_err(|e| DbErr::Type(format!("{name}: {e}")))?;
        model.try_set(column, value)?;
    }
    model.try_into_model()
}

/// A SQLite value as the sea-orm value of a column type (a typed `None` for `NULL`).
fn typed(column: &ColumnType, value: Sql) -> Result<Value, String> {
    let wrong = |value: &Sql| format!("a {column:?} column holds {:?}", value.data_type());
    Ok(match column {
        ColumnType::Uuid => Value::Uuid(match value {
            Sql::Null => None,
            Sql::Blob(b) => Some(uuid::Uuid::from_slice(&b).map_err(|e| e.to_string())?),
            Sql::Text(t) => Some(uuid::Uuid::parse_str(&t).map_err(|e| e.to_string())?),
            other => return Err(wrong(&other)),
        }),
        ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => {
            Value::ChronoDateTimeUtc(match value {
                Sql::Null => None,
                Sql::Text(t) => Some(parse_timestamp(&t)?),
                other => return Err(wrong(&other)),
            })
        }
        ColumnType::Json | ColumnType::JsonBinary => Value::Json(match value {
            Sql::Null => None,
            Sql::Text(t) => Some(Box::new(serde_json::from_str(&t).map_err(|e| e.to_string())?)),
            Sql::Blob(b) => Some(Box::new(serde_json::from_slice(&b).map_err(|e| e.to_string())?)),
            other => return Err(wrong(&other)),
        }),
        ColumnType::Boolean => Value::Bool(match value {
            Sql::Null => None,
            Sql::Integer(n) => Some(n != 0),
            other => return Err(wrong(&other)),
        }),
        ColumnType::BigInteger | ColumnType::Integer => Value::BigInt(match value {
            Sql::Null => None,
            Sql::Integer(n) => Some(n),
            other => return Err(wrong(&other)),
        }),
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => Value::String(match value {
            Sql::Null => None,
            Sql::Text(t) => Some(t),
            other => return Err(wrong(&other)),
        }),
        ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => Value::Bytes(match value {
            Sql::Null => None,
            Sql::Blob(b) => Some(b),
            other => return Err(wrong(&other)),
        }),
        other => return Err(format!("column type {other:?} is not read by the SQLite writer")),
    })
}

/// A stored timestamp: RFC 3339 as written, or one of SQLite's own text formats (as the async driver
/// reads them).
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    const FORMATS: [&str; 4] = ["%F %T%.f", "%F %T%.f%:z", "%FT%T%.f", "%F %R"];
    for format in FORMATS {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(text, format) {
            return Ok(t.with_timezone(&Utc));
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    Err(format!("invalid timestamp {text:?}"))
}

/// A sea-orm value bound as the async driver binds it.
struct Bind<'a>(&'a Value);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| rusqlite::Error::ToSqlConversionFailure(e);
        let timestamp = |t: String| ToSqlOutput::Owned(Sql::Text(t));
        Ok(match self.0 {
            Value::Bool(v) => owned((*v).map(i64::from)),
            Value::TinyInt(v) => owned((*v).map(i64::from)),
            Value::SmallInt(v) => owned((*v).map(i64::from)),
            Value::Int(v) => owned((*v).map(i64::from)),
            Value::BigInt(v) => owned(*v),
            Value::TinyUnsigned(v) => owned((*v).map(i64::from)),
            Value::SmallUnsigned(v) => owned((*v).map(i64::from)),
            Value::Unsigned(v) => owned((*v).map(i64::from)),
            Value::BigUnsigned(v) => owned((*v).map(i64::try_from).transpose().map_err(|e| failed(e.into()))?),
            Value::Float(v) => owned((*v).map(f64::from)),
            Value::Double(v) => owned(*v),
            Value::String(v) => borrowed(v.as_deref().map(|s| ValueRef::Text(s.as_bytes()))),
            Value::Char(v) => owned(v.map(|c| c.to_string())),
            Value::Bytes(v) => borrowed(v.as_deref().map(ValueRef::Blob)),
            Value::Uuid(v) => borrowed(v.as_ref().map(|u| ValueRef::Blob(u.as_bytes()))),
            Value::Json(v) => owned(v.as_deref().map(serde_json::to_string).transpose().map_err(|e| failed(e.into()))?),
            Value::ChronoDateTimeUtc(Some(t)) => timestamp(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)),
            Value::ChronoDateTimeWithTimeZone(Some(t)) => timestamp(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)),
            Value::ChronoDateTimeUtc(None) | Value::ChronoDateTimeWithTimeZone(None) => ToSqlOutput::Owned(Sql::Null),
            other => return Err(failed(format!("the SQLite writer does not bind {other:?}").into())),
        })
    }
}

fn owned<T: Into<Sql>>(value: Option<T>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(value.map_or(Sql::Null, Into::into))
}

fn borrowed(value: Option<ValueRef<'_>>) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(value.unwrap_or(ValueRef::Null))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.extended_code, ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY))
}

fn query_err(e: rusqlite::Error) -> DbErr {
    wrap(e, DbErr::Query)
}

fn exec_err(e: rusqlite::Error) -> DbErr {
    wrap(e, DbErr::Exec)
}

/// Keeps SQLite's message. A uniqueness violation becomes a message starting with [`UNIQUE_VIOLATION`]
/// (SQLite's own wording), which `sql::db_err` maps to a conflict.
fn wrap(e: rusqlite::Error, kind: fn(RuntimeErr) -> DbErr) -> DbErr {
    let message = e.to_string();
    if is_unique_violation(&e) {
        return DbErr::Custom(if message.starts_with(UNIQUE_VIOLATION) {
            message
        } else {
            format!("{UNIQUE_VIOLATION}: {message}")
        });
    }
    kind(RuntimeErr::Internal(message))
}

#[cfg(test)]
pub(crate) mod tests {
    use sea_orm::DbBackend;

    use super::super::conn::Conn;
    use super::*;

    /// A fresh SQLite file in WAL mode with one table keyed by `id`, and the writer's connection on it.
    pub(crate) fn scratch(durability: Durability) -> (DirectSqlite, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("chat-direct-{}.db", uuid::Uuid::new_v4().simple()));
        let setup = rusqlite::Connection::open(&path).expect("create the file");
        setup
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (id BLOB PRIMARY KEY, at TEXT, body TEXT);")
            .expect("schema");
        let options = DirectOptions { durability, busy_timeout: Duration::from_millis(50), cache_kib: 1024 };
        (DirectSqlite::open(&path, options).expect("open"), path)
    }

    /// A cached statement with `LIMIT ?` runs again without being prepared again (see `open`).
    #[test]
    fn a_cached_statement_is_not_prepared_again_for_new_values() {
        let (conn, _path) = scratch(Durability::Strict);
        let sql = "SELECT id FROM t WHERE id = ? LIMIT ?";
        for n in 0..5_i64 {
            let values = vec![sea_orm::Value::from(vec![1_u8, 2]), sea_orm::Value::from(n + 1)];
            conn.query(&Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).expect("query");
        }
        let locked = conn.lock().expect("lock");
        let statement = locked.prepare_cached(sql).expect("the cached statement");
        assert_eq!(statement.get_status(rusqlite::StatementStatus::Run), 5, "the cached statement ran each time");
        assert_eq!(statement.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    fn pragma(conn: &DirectSqlite, name: &str) -> i64 {
        conn.lock().expect("lock").query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).expect("pragma")
    }

    #[test]
    fn the_connection_gets_the_pools_settings() {
        let (strict, path) = scratch(Durability::Strict);
        assert_eq!(pragma(&strict, "synchronous"), 2, "FULL");
        assert_eq!(pragma(&strict, "foreign_keys"), 1);
        assert_eq!(pragma(&strict, "busy_timeout"), 50);
        assert_eq!(pragma(&strict, "cache_size"), -1024);
        assert_eq!(pragma(&strict, "temp_store"), 2, "MEMORY");
        let _ = std::fs::remove_file(path);
        let (fast, path) = scratch(Durability::Fast);
        assert_eq!(pragma(&fast, "synchronous"), 1, "NORMAL");
        let _ = std::fs::remove_file(path);
    }

    /// Values go in as the async driver binds them and come back through the same statement shapes;
    /// a duplicate key is a conflict, as it is through the driver.
    #[tokio::test]
    async fn values_round_trip_and_a_duplicate_key_is_a_conflict() {
        let (direct, path) = scratch(Durability::Fast);
        let conn = Conn::Direct(&direct);
        let (id, at) = (uuid::Uuid::now_v7(), Utc::now());
        let insert = |body: &str| {
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO t (id, at, body) VALUES (?, ?, ?)",
                [Value::from(id), Value::from(at), Value::from(serde_json::json!({ "text": body }))],
            )
        };
        assert_eq!(conn.execute(insert("first")).await.expect("insert"), 1);
        match conn.execute(insert("again")).await {
            Err(RepositoryError::Conflict(detail)) => assert!(detail.contains("t.id"), "{detail}"),
            other => panic!("a duplicate key must be a conflict, got {other:?}"),
        }
        let row = conn
            .row(Statement::from_string(DbBackend::Sqlite, "SELECT id, at, body, length(id) AS n FROM t"))
            .await
            .expect("select")
            .expect("a row");
        assert_eq!(row.get::<uuid::Uuid>("id").expect("id"), id);
        assert_eq!(row.get::<i64>("n").expect("n"), 16, "a UUID is a 16-byte blob");
        let stored: String =
            direct.lock().expect("lock").query_row("SELECT at || ' ' || body FROM t", [], |r| r.get(0)).expect("text");
        assert_eq!(stored, format!("{} {{\"text\":\"first\"}}", at.to_rfc3339_opts(SecondsFormat::AutoSi, false)));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn rolling_back_closes_an_open_transaction_and_is_a_no_op_without_one() {
        let (direct, path) = scratch(Durability::Fast);
        direct.roll_back().expect("nothing to roll back");
        direct.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (id) VALUES (x'01');").expect("write");
        direct.roll_back().expect("roll back");
        let n: i64 = direct.lock().expect("lock").query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("n");
        assert_eq!(n, 0);
        direct.execute_batch("BEGIN IMMEDIATE; COMMIT;").expect("a new transaction begins");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn timestamps_read_back_as_the_driver_writes_them() {
        let at = Utc::now();
        let written = at.to_rfc3339_opts(SecondsFormat::AutoSi, false);
        assert_eq!(parse_timestamp(&written).expect("rfc 3339"), at);
        let sqlite = parse_timestamp("2026-11-23 08:00:01.5").expect("SQLite's own format");
        assert_eq!(sqlite.to_rfc3339_opts(SecondsFormat::Millis, true), "2026-11-23T08:00:01.500Z");
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error_not_a_null() {
        assert!(typed(&ColumnType::Uuid, Sql::Integer(3)).is_err());
        assert!(typed(&ColumnType::TimestampWithTimeZone, Sql::Blob(b"x".to_vec())).is_err());
        assert_eq!(typed(&ColumnType::Uuid, Sql::Null), Ok(Value::Uuid(None)));
    }
}
