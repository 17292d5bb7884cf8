//! Small helpers shared by the store's statements: portable raw statements and error mapping.

use sea_orm::{DbBackend, DbErr, SqlErr, Statement, Value};

use chat_domain::RepositoryError;

use super::direct::UNIQUE_VIOLATION;

/// A raw statement written with `?` placeholders (the SQL must be valid on both backends); on PostgreSQL
/// the placeholders become `$1`, `$2`, … The SQL never holds a `?` inside a literal.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(ch);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `?, ?, ?` for `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// `(?, ?), (?, ?)` for `n` rows of `width` values: the `VALUES` list of a multi-row statement.
pub(crate) fn rows(n: usize, width: usize) -> String {
    vec![format!("({})", placeholders(width)); n].join(", ")
}

/// Maps a database error to the domain's: uniqueness violations are `Conflict`, everything else `Storage`.
/// The async driver's errors carry their code; the SQLite writer's own connection reports a violation
/// with SQLite's message (see `direct`).
pub(crate) fn db_err(error: DbErr) -> RepositoryError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => RepositoryError::Conflict(detail),
        _ => match error {
            DbErr::Custom(detail) if detail.starts_with(UNIQUE_VIOLATION) => RepositoryError::Conflict(detail),
            other => RepositoryError::storage(other),
        },
    }
}

/// A `LIKE` pattern matching `needle` anywhere, with `%`, `_` and the escape character `\` escaped.
pub(crate) fn like_contains(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for ch in needle.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// An FTS5 query that matches every word typed, each quoted so that none of FTS5's syntax (`AND`, `NEAR`,
/// `*`, `:`, quotes, parentheses) is interpreted. `None` when there is no word to look for.
pub(crate) fn fts5_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text.split_whitespace().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect();
    if terms.is_empty() { None } else { Some(terms.join(" ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        let s = stmt(DbBackend::Postgres, "SELECT ? + ?", vec![1i64.into(), 2i64.into()]);
        assert_eq!(s.sql, "SELECT $1 + $2");
        let s = stmt(DbBackend::Sqlite, "SELECT ? + ?", vec![1i64.into(), 2i64.into()]);
        assert_eq!(s.sql, "SELECT ? + ?");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_contains(r"a%b_c\d"), r"%a\%b\_c\\d%");
    }

    #[test]
    fn fts5_terms_are_quoted() {
        assert_eq!(fts5_query(r#"hello "NEAR" a*"#).as_deref(), Some(r#""hello" """NEAR""" "a*""#));
        assert_eq!(fts5_query("   "), None);
    }
}
