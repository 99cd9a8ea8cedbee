//! The two database backends behind one small interface: statements with
//! numbered parameters, rows of integers and text, and transactions. The
//! store's logic is written once over [`Db`]; only connecting, binding and
//! reading values differ between SQLite and PostgreSQL.

use crate::StoreError;

/// A bound value or a read column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// An integer (`INTEGER` / `BIGINT`).
    Int(i64),
    /// Text.
    Text(String),
}

impl Value {
    /// Some text, or `NULL`.
    pub fn text_opt(v: Option<&str>) -> Value {
        v.map_or(Value::Null, |s| Value::Text(s.to_string()))
    }

    /// Some integer, or `NULL`.
    pub fn int_opt(v: Option<i64>) -> Value {
        v.map_or(Value::Null, Value::Int)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Text(s.clone())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` as text.
    ///
    /// # Errors
    /// When it is missing or not text.
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.0.get(i) {
            Some(Value::Text(s)) => Ok(s.clone()),
            other => Err(StoreError::Corrupt(format!("column {i}: expected text, found {other:?}"))),
        }
    }

    /// Column `i` as text or `NULL`.
    ///
    /// # Errors
    /// When it is missing or an integer.
    pub fn text_opt(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    /// Column `i` as an integer.
    ///
    /// # Errors
    /// When it is missing or not an integer.
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            other => Err(StoreError::Corrupt(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }

    /// Column `i` as an integer or `NULL`.
    ///
    /// # Errors
    /// When it is missing or text.
    pub fn int_opt(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
}

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded SQLite.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A database connection the store (and the delivery outbox) run over.
/// Statements number their parameters `?1`, `?2`…; the PostgreSQL backend
/// rewrites them as `$1`, `$2`….
pub trait Db: Send {
    /// Which database this is.
    fn dialect(&self) -> Dialect;
    /// Runs statements without parameters (schema changes).
    ///
    /// # Errors
    /// Database errors.
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Runs one statement; returns the rows it changed.
    ///
    /// # Errors
    /// Database errors.
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs one query.
    ///
    /// # Errors
    /// Database errors.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Starts a transaction that writes (SQLite takes its write lock at once).
    ///
    /// # Errors
    /// Database errors.
    fn begin(&mut self) -> Result<(), StoreError> {
        match self.dialect() {
            Dialect::Sqlite => self.batch("BEGIN IMMEDIATE"),
            Dialect::Postgres => self.batch("BEGIN"),
        }
    }
    /// Commits it.
    ///
    /// # Errors
    /// Database errors.
    fn commit(&mut self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }
    /// Abandons it.
    ///
    /// # Errors
    /// Database errors.
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.batch("ROLLBACK")
    }
}

/// Runs `f` in a transaction: committed when it returns `Ok`, rolled back
/// otherwise.
///
/// # Errors
/// `f`'s error, or the database's.
pub fn transaction<T, E: From<StoreError>>(
    db: &mut dyn Db,
    f: impl FnOnce(&mut dyn Db) -> Result<T, E>,
) -> Result<T, E> {
    db.begin()?;
    match f(db) {
        Ok(v) => {
            db.commit()?;
            Ok(v)
        }
        Err(e) => {
            // The first error is the one worth reporting.
            let _ = db.rollback();
            Err(e)
        }
    }
}

/// Embedded SQLite, in WAL mode with full synchronous writes.
pub struct SqliteDb {
    conn: rusqlite::Connection,
}

impl SqliteDb {
    /// Opens (or creates) the database file at `path`.
    ///
    /// # Errors
    /// When it cannot be opened.
    pub fn open(path: &std::path::Path) -> Result<SqliteDb, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(|e| StoreError::Db(e.to_string()))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;")
            .map_err(|e| StoreError::Db(e.to_string()))?;
        Ok(SqliteDb { conn })
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

impl Db for SqliteDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(sqlite_err)
    }

    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let n = self.conn.execute(sql, rusqlite::params_from_iter(params.iter())).map_err(sqlite_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        use rusqlite::types::ValueRef;
        let mut st = self.conn.prepare_cached(sql).map_err(sqlite_err)?;
        let width = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params.iter())).map_err(sqlite_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sqlite_err)? {
            let mut row = Vec::with_capacity(width);
            for i in 0..width {
                row.push(match r.get_ref(i).map_err(sqlite_err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(StoreError::Corrupt(format!("column {i} holds a value this store never writes")))
                    }
                });
            }
            out.push(Row(row));
        }
        Ok(out)
    }
}

/// A PostgreSQL server, over one connection (plain TCP or a Unix socket).
pub struct PostgresDb {
    client: postgres::Client,
}

impl PostgresDb {
    /// Connects to `url` (`postgres://user@host:port/db`, or with
    /// `?host=/path/to/socket/dir`).
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the login.
    pub fn connect(url: &str) -> Result<PostgresDb, StoreError> {
        PostgresDb::connect_with(url, None)
    }

    /// Connects with `password` (read from a reference by the caller) over
    /// any the URL gives.
    ///
    /// # Errors
    /// As [`PostgresDb::connect`]; a URL the driver cannot read (not repeated).
    pub fn connect_with(url: &str, password: Option<&str>) -> Result<PostgresDb, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|_| StoreError::Url("the PostgreSQL URL cannot be read (it is not repeated here)".into()))?;
        if let Some(p) = password {
            config.password(p);
        }
        if config.get_application_name().is_none() {
            config.application_name("cavra-reports");
        }
        let client = config.connect(postgres::NoTls).map_err(|e| StoreError::Db(e.to_string()))?;
        Ok(PostgresDb { client })
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <i64 as postgres::types::ToSql>::accepts(ty) || <String as postgres::types::ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

fn pg_err(e: postgres::Error) -> StoreError {
    StoreError::Db(match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    })
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect()
}

impl Db for PostgresDb {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(pg_err)
    }

    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.client.execute(crate::query::dollar(sql).as_str(), &pg_params(params)).map_err(pg_err)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        use postgres::types::Type;
        let rows = self.client.query(crate::query::dollar(sql).as_str(), &pg_params(params)).map_err(pg_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut row = Vec::with_capacity(r.len());
            for (i, column) in r.columns().iter().enumerate() {
                let ty = column.type_();
                let v = if *ty == Type::INT8 {
                    r.try_get::<_, Option<i64>>(i).map_err(pg_err)?.map_or(Value::Null, Value::Int)
                } else if *ty == Type::INT4 {
                    r.try_get::<_, Option<i32>>(i).map_err(pg_err)?.map_or(Value::Null, |v| Value::Int(v.into()))
                } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                    r.try_get::<_, Option<String>>(i).map_err(pg_err)?.map_or(Value::Null, Value::Text)
                } else {
                    return Err(StoreError::Corrupt(format!(
                        "column {i} has type {ty}, which this store never writes"
                    )));
                };
                row.push(v);
            }
            out.push(Row(row));
        }
        Ok(out)
    }
}

/// Opens the database a store URL names: `sqlite:PATH` or
/// `postgres://…` / `postgresql://…`.
///
/// # Errors
/// [`StoreError::Url`] for any other form; connection errors.
pub fn open(url: &str) -> Result<Box<dyn Db>, StoreError> {
    open_with(url, None)
}

/// [`open`], with the PostgreSQL password given apart from the URL.
///
/// # Errors
/// As [`open`].
pub fn open_with(url: &str, password: Option<&str>) -> Result<Box<dyn Db>, StoreError> {
    match Location::parse(url)? {
        Location::Sqlite(path) => Ok(Box::new(SqliteDb::open(&path)?)),
        Location::Postgres(url) => Ok(Box::new(PostgresDb::connect_with(&url, password)?)),
    }
}

/// Where a store URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Location {
    /// Reads `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    ///
    /// # Errors
    /// [`StoreError::Url`].
    pub fn parse(url: &str) -> Result<Location, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(StoreError::Url("`sqlite:` needs a file path, e.g. sqlite:records/store.db".into()));
            }
            return Ok(Location::Sqlite(path.into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        Err(StoreError::Url(
            "a store is `sqlite:PATH` or `postgres://user@host:port/database` (the URL is not repeated here, it may hold a password)"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(Location::parse("sqlite:a/b.db").unwrap(), Location::Sqlite("a/b.db".into()));
        assert!(matches!(Location::parse("postgres://u@h/d").unwrap(), Location::Postgres(_)));
        assert!(matches!(Location::parse("postgresql://u@h/d").unwrap(), Location::Postgres(_)));
        for bad in ["sqlite:", "mysql://x", "store.db", "postgres:/x"] {
            assert!(matches!(Location::parse(bad), Err(StoreError::Url(_))), "{bad}");
        }
        // a refused URL is never echoed: it may carry a password
        let e = Location::parse("mysql://user:hunter2@host/db").unwrap_err().to_string();
        assert!(!e.contains("hunter2"));
    }
}
