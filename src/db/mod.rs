//! The database: one `DbConn` that is either PostgreSQL or SQLite, picked by the
//! `DATABASE_URL` scheme; the r2d2 pool; embedded migrations per backend; write transactions.
//!
//! Queries are written once against `DbConn` (diesel's `MultiConnection`); only where SQL really
//! differs between the backends (upserts, locking) does a function `match` on the variant.
//! Rule-holding functions live in `models/` and return `crate::error::AppError`.

pub mod batch;
pub mod count;
pub mod models;
pub mod schema;
pub mod sql;

pub use sql::{Const, opaque};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend `DATABASE_URL` names. PostgreSQL comes first: diesel's
/// derive tries variants in order, and SQLite would accept almost any string.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// A parsed `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The full `postgres://…` URL, handed to libpq as it is.
    Postgres(String),
    /// A file path (`sqlite://data/releasedesk.db` → `data/releasedesk.db`).
    Sqlite(String),
}

impl DatabaseUrl {
    /// Accepts `postgres://`, `postgresql://` and `sqlite://PATH` (also `sqlite:PATH`); refuses
    /// anything else with a message that says what is accepted.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err(
                    "DATABASE_URL `sqlite://` needs a file path, e.g. sqlite://data/releasedesk.db"
                        .into(),
                );
            }
            return Ok(DatabaseUrl::Sqlite(rest.to_owned()));
        }
        let scheme = url.split("://").next().unwrap_or(url);
        Err(format!(
            "unsupported DATABASE_URL scheme `{scheme}`: use sqlite://PATH or postgres://USER@HOST/DB"
        ))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(_) => "sqlite",
        }
    }
}

/// How many statements the pool's connections have started (diesel's instrumentation event
/// `StartQuery`): `/metrics` reports it, and tests use it to prove a page's query count does
/// not grow with its rows. The checkout test (`SELECT 1`, when a connection has been idle
/// longer than [`ALIVE_WINDOW`]) is not counted: whether it runs depends on timing, not on
/// what a request does, and counting it made those tests flaky; `pings` counts it apart.
#[derive(Clone, Debug, Default)]
pub struct QueryCounter {
    statements: Arc<AtomicU64>,
    pings: Arc<AtomicU64>,
}

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
    /// How many checkout tests ran.
    pub fn pings(&self) -> u64 {
        self.pings.load(Ordering::Relaxed)
    }
}

/// r2d2 manager that connects to the backend named by the URL scheme, so a failed PostgreSQL
/// connection reports libpq's own error rather than diesel's generic multi-connection one.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    queries: QueryCounter,
    /// A PostgreSQL connection whose last statement succeeded this recently is handed out
    /// without a ping ([`ConnWatch`]).
    alive_window: Duration,
}

/// How long after a successful statement a PostgreSQL connection is taken to be alive. The
/// same rule and default as HikariCP's `aliveBypassWindowMs` (500 ms).
pub const ALIVE_WINDOW: Duration = Duration::from_millis(500);

/// Each pooled connection's instrumentation: counts its statements into the pool's
/// [`QueryCounter`] and remembers what the checkout test needs to know about it.
///
/// Why: r2d2 tests a connection at every checkout, and a PostgreSQL test is a round trip. A
/// page checks out twice (who is asking, then the page), so under load two of a Tasks
/// request's dozen round trips were pings of connections that had answered a millisecond
/// before (docs/BENCHMARKS.md). A connection that answered within [`ALIVE_WINDOW`], with no
/// error since, is handed out without one; any other is pinged, as before. A connection that
/// dies inside the window fails the one statement that finds out, and is then dropped instead
/// of going back to the pool (`has_broken`).
pub struct ConnWatch {
    queries: QueryCounter,
    /// When the last statement finished without an error; `None` after an error.
    last_ok: Option<Instant>,
    /// The server closed the connection: it must not be handed out again.
    closed: bool,
    /// A checkout test is running: its statement is not one of the app's.
    pinging: bool,
}

impl ConnWatch {
    fn new(queries: QueryCounter) -> Self {
        ConnWatch {
            queries,
            last_ok: None,
            closed: false,
            pinging: false,
        }
    }

    /// Whether a checkout can skip the ping.
    fn vouches(&self, window: Duration) -> bool {
        !self.closed && self.last_ok.is_some_and(|t| t.elapsed() < window)
    }

    /// The watch of a pooled connection (every connection `Manager::connect` opened has one).
    fn of(conn: &mut DbConn) -> Option<&mut ConnWatch> {
        conn.instrumentation().downcast_mut::<ConnWatch>()
    }
}

impl Instrumentation for ConnWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } if !self.pinging => {
                self.queries.statements.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery { error: None, .. } => {
                self.last_ok = Some(Instant::now());
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } => {
                self.last_ok = None;
                if matches!(
                    error,
                    DieselError::DatabaseError(
                        DatabaseErrorKind::ClosedConnection
                            | DatabaseErrorKind::UnableToSendCommand,
                        _
                    )
                ) {
                    self.closed = true;
                }
            }
            _ => {}
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        let mut conn = self.establish()?;
        conn.set_instrumentation(ConnWatch::new(self.queries.clone()));
        Ok(conn)
    }

    /// r2d2 asks this at every checkout. A PostgreSQL connection can die with its server or
    /// the network, so it is pinged unless it has just answered ([`ConnWatch`]); a SQLite
    /// connection is an open file in this process and cannot die, so it is not.
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        match conn {
            DbConn::Postgres(_) => {
                match ConnWatch::of(conn) {
                    Some(w) if w.vouches(self.alive_window) => return Ok(()),
                    Some(w) => {
                        w.pinging = true;
                        w.queries.pings.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {}
                }
                let pinged = conn.batch_execute("SELECT 1");
                if let Some(w) = ConnWatch::of(conn) {
                    w.pinging = false;
                }
                pinged.map_err(r2d2::Error::QueryError)
            }
            DbConn::Sqlite(_) => Ok(()),
        }
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken() || ConnWatch::of(conn).is_some_and(|w| w.closed)
    }
}

/// Process-wide SQLite settings, made once before the first connection opens. Turns on the
/// query planner stability guarantee (QPSG) for every SQLite connection this process opens,
/// through `sqlite3_auto_extension` (diesel does not expose the raw handle).
///
/// Why: without it SQLite lets a bound value steer the plan and then re-prepares the statement
/// whenever that parameter is rebound. diesel binds every `LIMIT`/`OFFSET` (also `first()`'s
/// `LIMIT 1`), and the bundled SQLite is built with STAT4, so after an `ANALYZE` nearly every
/// cached statement was re-parsed on every run, which a perf profile of the Tasks tab showed
/// as `sqlite3Reprepare` (docs/BENCHMARKS.md). With QPSG a
/// statement keeps the plan it was prepared with and diesel's statement cache works.
///
/// Before that, it turns off SQLite's memory statistics (`SQLITE_CONFIG_MEMSTATUS`), which the
/// bundled build keeps on: they put one process-wide mutex around every allocation of every
/// connection. Under load the broad search allocates in FTS5 on every connection at once, and
/// a perf profile showed the kernel waking and parking threads on that mutex
/// (docs/BENCHMARKS.md). Nothing here reads those statistics.
fn sqlite_process_settings() {
    use libsqlite3_sys as ffi;
    use std::os::raw::{c_char, c_int};
    static ONCE: std::sync::Once = std::sync::Once::new();

    unsafe extern "C" fn enable_qpsg(
        db: *mut ffi::sqlite3,
        _err: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: SQLite calls this with the connection it is opening; `sqlite3_db_config` with
        // ENABLE_QPSG takes an int and an optional int pointer.
        unsafe {
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                std::ptr::null_mut::<c_int>(),
            );
        }
        ffi::SQLITE_OK
    }

    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` takes the option and an int; it must run before SQLite
        // initializes, and this is the process's first SQLite call (`sqlite3_auto_extension`
        // below initializes it). If something did initialize it first, SQLite answers MISUSE
        // and changes nothing.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "could not turn off SQLite's memory statistics");
        }
        // SAFETY: as above; MULTITHREAD takes no argument. A pooled connection and its
        // prepared statements are used by one thread at a time (r2d2 hands each out to one
        // holder), which is all this mode asks.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "could not set SQLite's multi-thread mode");
        }
        // SAFETY: registers a function with the signature SQLite calls auto extensions with.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(enable_qpsg)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "could not register SQLite's query planner stability setting"
            );
        }
    });
}

impl Manager {
    fn establish(&self) -> Result<DbConn, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                sqlite_process_settings();
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; the busy timeout makes a second writer
                // wait instead of failing, and comes first so that connections opened together
                // on a new file wait for the one switching it to WAL instead of failing with
                // "database is locked"; foreign keys are off by default in SQLite. Reads go
                // through a shared memory map (mmap_size): a profile of the broad search spent
                // much of its time copying pages out of the kernel with read()
                // (docs/BENCHMARKS.md, "The search machinery"); the map is shared by all connections, unlike cache_size.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                     PRAGMA mmap_size = 268435456;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// Builds the pool and checks one connection, so a wrong URL fails at start with the real error.
pub fn connect(database_url: &str, pool_size: u32) -> anyhow::Result<Pool> {
    connect_counted(database_url, pool_size, QueryCounter::default())
}

/// Like `connect`, counting the statements of every pooled connection in `queries`.
pub fn connect_counted(
    database_url: &str,
    pool_size: u32,
    queries: QueryCounter,
) -> anyhow::Result<Pool> {
    connect_watched(database_url, pool_size, queries, ALIVE_WINDOW)
}

/// Like `connect_counted`, with the time after a successful statement during which a
/// PostgreSQL connection is handed out without a ping ([`ConnWatch`]); tests set it.
pub fn connect_watched(
    database_url: &str,
    pool_size: u32,
    queries: QueryCounter,
    alive_window: Duration,
) -> anyhow::Result<Pool> {
    let url = DatabaseUrl::parse(database_url).map_err(anyhow::Error::msg)?;
    if let DatabaseUrl::Sqlite(path) = &url
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the directory {} for SQLite: {e}",
                dir.display()
            )
        })?;
    }
    // Probe once outside the pool: r2d2 would otherwise retry until its timeout and then report
    // only "timed out waiting for connection".
    let manager = Manager {
        url: url.clone(),
        queries,
        alive_window,
    };
    manager.establish().map_err(|e| {
        anyhow::anyhow!("cannot connect to the {} database: {e}", url.backend_name())
    })?;
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)?;
    Ok(pool)
}

/// Applies every pending migration of the connection's backend.
pub fn migrate(conn: &mut DbConn) -> anyhow::Result<usize> {
    let migrations = match conn {
        DbConn::Postgres(_) => POSTGRES_MIGRATIONS,
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
    };
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}

/// How often the SQLite WAL is checkpointed and truncated (`WalCheckpointer`).
pub const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(10);

#[derive(diesel::QueryableByName)]
struct CheckpointRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

/// Copies the SQLite WAL into the database and truncates it, waiting (busy timeout) for the
/// readers of older snapshots to finish. Returns the frames the WAL held, or `None` when it
/// could not finish (still busy; the next round tries again). A no-op on PostgreSQL.
///
/// Why: SQLite's automatic checkpoint is passive. Under steady load some reader always holds
/// an older snapshot, so the WAL is never reset and grows without bound (the soak test saw
/// 60 MB of WAL for a 3.5 MB database after 30 s, and the server's memory growing with it).
pub fn checkpoint_wal(conn: &mut DbConn) -> QueryResult<Option<i32>> {
    let DbConn::Sqlite(inner) = conn else {
        return Ok(None);
    };
    let row =
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result::<CheckpointRow>(inner)?;
    Ok((row.busy == 0).then_some(row.log))
}

/// A thread that runs `checkpoint_wal` every `WAL_CHECKPOINT_INTERVAL` (SQLite only); stops
/// when dropped.
pub struct WalCheckpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalCheckpointer {
    /// `None` for PostgreSQL, which needs nothing of the kind.
    pub fn spawn(pool: &Pool) -> Option<WalCheckpointer> {
        if !matches!(&*pool.get().ok()?, DbConn::Sqlite(_)) {
            return None;
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let pool = pool.clone();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                let tick = Duration::from_millis(200);
                let mut waited = Duration::ZERO;
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    waited += tick;
                    if waited < WAL_CHECKPOINT_INTERVAL {
                        continue;
                    }
                    waited = Duration::ZERO;
                    match pool.get().map(|mut c| checkpoint_wal(&mut c)) {
                        Ok(Ok(Some(frames))) => {
                            tracing::debug!(frames, "WAL checkpointed and truncated")
                        }
                        Ok(Ok(None)) => tracing::debug!("WAL checkpoint busy; next round"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "WAL checkpoint"),
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint: no connection"),
                    }
                }
            })
            .ok();
        Some(WalCheckpointer { stop, thread })
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How to back up a PostgreSQL database: `backup` does not do it itself, `pg_dump` does it
/// better (consistent snapshot, any size, restorable with `pg_restore`).
pub const PG_DUMP_ADVICE: &str = "releasedesk backup copies SQLite databases only. For \
PostgreSQL, use pg_dump, which takes a consistent snapshot while the servers keep running:\n\
  pg_dump --format=custom --file=releasedesk.dump \"$DATABASE_URL\"\n\
and restore into an empty database with:\n\
  pg_restore --no-owner --dbname=\"$NEW_DATABASE_URL\" releasedesk.dump";

/// Copies the SQLite database named by `database_url` to a new file at `target`, while servers
/// keep using it: `VACUUM INTO` reads one consistent snapshot (WAL readers do not block the
/// writer, nor it them) and writes a compact, self-contained database file. Refuses a `target`
/// that exists, so a backup never overwrites anything. For PostgreSQL it refuses with
/// `PG_DUMP_ADVICE`.
pub fn backup(database_url: &str, target: &std::path::Path) -> anyhow::Result<u64> {
    let url = DatabaseUrl::parse(database_url).map_err(anyhow::Error::msg)?;
    let DatabaseUrl::Sqlite(source) = url else {
        anyhow::bail!("{PG_DUMP_ADVICE}");
    };
    anyhow::ensure!(
        std::path::Path::new(&source).exists(),
        "there is no SQLite database at {source}"
    );
    anyhow::ensure!(
        !target.exists(),
        "{} already exists; a backup never overwrites a file, so name a new one",
        target.display()
    );
    let target_str = target
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    let pool = connect(database_url, 1)?;
    let mut conn = pool.get()?;
    diesel::sql_query("VACUUM INTO $1")
        .bind::<diesel::sql_types::Text, _>(target_str)
        .execute(&mut *conn)
        .map_err(|e| anyhow::anyhow!("backup to {} failed: {e}", target.display()))?;
    Ok(std::fs::metadata(target)?.len())
}

/// Runs `f` in a write transaction and commits if it returns `Ok`.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front,
/// so two concurrent read-then-write transactions queue on the busy timeout instead of one
/// failing with `SQLITE_BUSY` when it tries to upgrade its read lock. PostgreSQL uses an
/// ordinary transaction; its guarded updates and row locks serialise the writers.
///
/// Inside another write transaction it runs in a savepoint of that one (on both backends), so
/// several rule-holding operations can commit together.
pub fn write_tx<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let DbConn::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()?
        .is_some()
    {
        // Already in a write transaction: a savepoint.
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConn::Sqlite(inner) = conn else {
        unreachable!("the variant cannot change inside the transaction")
    };
    match result {
        Ok(value) => {
            if let Err(e) = AnsiTransactionManager::commit_transaction(inner) {
                let _ = AnsiTransactionManager::rollback_transaction(inner);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(inner)?;
            Err(e)
        }
    }
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Current time as stored in the database: naive UTC, generated in Rust so both backends agree.
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn database_url_picks_backend_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db"),
            Ok(DatabaseUrl::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db"),
            Ok(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        let err = DatabaseUrl::parse("mysql://u@h/db").unwrap_err();
        assert!(err.contains("`mysql`"), "{err}");
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    /// A `text_enum!` value goes to the database as its word and comes back as itself through
    /// `DbConn`; a stored word the enum does not know fails the query, naming the word.
    #[test]
    fn text_enums_are_text_and_refuse_unknown_words() {
        use super::DbConn;
        use crate::domain::{PackageStatus, Role};
        use diesel::dsl::sql;
        use diesel::prelude::*;
        use diesel::sql_types::{Nullable, Text};

        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        for status in PackageStatus::ALL {
            let back: PackageStatus = diesel::select(status.into_sql::<Text>())
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(back, *status);
        }
        let word: String = diesel::select(Role::Deployer.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(word, "deployer");
        let none: Option<Role> = diesel::select(sql::<Nullable<Text>>("NULL"))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(none, None);
        let err = diesel::select(sql::<Text>("'paused'"))
            .get_result::<PackageStatus>(&mut conn)
            .unwrap_err();
        assert!(
            matches!(err, diesel::result::Error::DeserializationError(_)),
            "{err:?}"
        );
        // diesel names the field; the cause below it names the word.
        let mut chain = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(e) = cause {
            chain.push_str(&format!(": {e}"));
            cause = e.source();
        }
        assert!(
            chain.contains(r#"unknown PackageStatus "paused""#),
            "{chain}"
        );
    }

    /// An id newtype is a `BigInt` through `DbConn`: bound in the DSL and in `sql_query`, loaded
    /// back as itself, and `NULL` as `None`.
    #[test]
    fn ids_are_big_ints() {
        use super::DbConn;
        use crate::domain::{PackageId, UserId};
        use diesel::connection::SimpleConnection;
        use diesel::dsl::sql;
        use diesel::prelude::*;
        use diesel::sql_types::{BigInt, Nullable};

        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        let id = PackageId(9_007_199_254_740_993);
        let back: PackageId = diesel::select(id.into_sql::<BigInt>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back, id);
        let none: Option<UserId> = diesel::select(sql::<Nullable<BigInt>>("NULL"))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(none, None);

        conn.batch_execute("CREATE TABLE t (id INTEGER NOT NULL)")
            .unwrap();
        diesel::sql_query("INSERT INTO t (id) VALUES ($1)")
            .bind::<BigInt, _>(id)
            .execute(&mut conn)
            .unwrap();
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            id: PackageId,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT id FROM t WHERE id = $1")
            .bind::<BigInt, _>(id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
    }

    /// A write transaction inside another is a savepoint: its failure undoes only its own
    /// writes, and everything commits with the outer one.
    #[test]
    fn nested_write_transactions_are_savepoints() {
        use super::{DbConn, write_tx};
        use crate::error::AppError;
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested.db");
        let mut conn = DbConn::Sqlite(SqliteConnection::establish(path.to_str().unwrap()).unwrap());
        conn.batch_execute("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        let insert = |conn: &mut DbConn, v: i64| {
            diesel::sql_query(format!("INSERT INTO t (v) VALUES ({v})"))
                .execute(conn)
                .map(|_| ())
                .map_err(AppError::from)
        };
        write_tx(&mut conn, |conn| {
            insert(conn, 1)?;
            write_tx(conn, |conn| insert(conn, 2))?;
            let failed: Result<(), AppError> = write_tx(conn, |conn| {
                insert(conn, 3)?;
                Err(AppError::Conflict("no".into()))
            });
            assert!(failed.is_err());
            Ok(())
        })
        .unwrap();
        #[derive(QueryableByName)]
        struct V {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            v: i64,
        }
        let rows: Vec<V> = diesel::sql_query("SELECT v FROM t ORDER BY v")
            .load(&mut conn)
            .unwrap();
        assert_eq!(rows.iter().map(|r| r.v).collect::<Vec<_>>(), vec![1, 2]);
    }
}
