//! What every handler and extractor shares: `AppState` (the pool, the password hasher, the
//! counters) and the two ways a request gets a database connection, `with_conn` (the blocking
//! pool: writes and unbounded work) and `with_read_conn` (bounded reads, on the HTTP worker
//! itself when SQLite has a connection free). `startup` builds the state; `routes`, `auth` and
//! `middleware` use it.

use actix_web::web;

use crate::db::{self, Pool};
use crate::domain::PrivateDestinations;
use crate::error::AppError;
use crate::password::Hasher;

/// Shared by every handler.
pub struct AppState {
    pub pool: Pool,
    pub hasher: Hasher,
    /// Statements run by the pool's connections (`/metrics`).
    pub queries: db::QueryCounter,
    /// Whether bounded reads may run on the HTTP worker thread itself (SQLite: see
    /// `with_read_conn`).
    pub inline_reads: bool,
    /// Whether webhooks may go to internal addresses (`--allow-private-webhooks`), for the
    /// region form's check.
    pub private_webhooks: PrivateDestinations,
    /// The SMTP server, From address and link origin when this server sends email
    /// (`--smtp-url`), for the Account page's test email; `None`: no email.
    pub mail: Option<crate::worker::notify::Mail>,
    /// Insights computed in the last `--insights-cache-seconds`, per workspace and period.
    pub insights: InsightsMemo,
}

/// What `AppState::insights` keeps.
pub type InsightsMemo = crate::recent::Recent<
    (
        crate::domain::WorkspaceId,
        crate::db::models::insights::Period,
    ),
    crate::db::models::insights::Insights,
>;

/// At most this many workspace × period answers are kept (a few KB each).
pub const INSIGHTS_MEMO_CAP: usize = 1024;

/// Runs `f` with a pooled connection on the blocking thread pool.
pub async fn with_conn<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut crate::db::DbConn) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// Runs `f`, a bounded read (a page of a list, one item's details, who is asking), with a
/// pooled connection. On SQLite, when a connection is free right now, `f` runs here on the
/// HTTP worker thread; otherwise, and always on PostgreSQL, on the blocking pool (`with_conn`).
///
/// Why: with every request handed to the blocking pool, 8 database threads and 2 HTTP workers
/// shared two cores, and a worker with answers to render and send waited its turn behind the
/// database threads, and p99 suffered on every page. Run in place, a page is read, rendered
/// and sent by one thread without a hand-off (figures: docs/BENCHMARKS.md, "Bounded reads run
/// on the HTTP worker"). A WAL
/// reader never waits for a writer and `try_get` never waits for a connection, so the worker
/// is held up only by the read itself. PostgreSQL reads are network round trips to another
/// process, which a worker must not sit out.
///
/// Not for writes (a writer may wait for SQLite's write lock, up to the busy timeout, stalling
/// every connection of this worker) nor for unbounded work such as diffs and exports: those
/// use `with_conn`.
pub async fn with_read_conn<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut crate::db::DbConn) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    if state.inline_reads
        && let Some(mut conn) = state.pool.try_get()
    {
        return f(&mut conn);
    }
    with_conn(state, f).await
}
