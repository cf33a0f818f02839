//! Approval expiry's sweep (issue 24): a `Poller` thread on every instance that runs the worker
//! finds the waits for approval whose deadline has passed and has the data layer expire them,
//! each in its own transaction: a package pending approval becomes `expired`
//! (`releases::expire_due_package`), a Manual Approval or Manual Trigger still waiting fails its
//! region release (`region_release::execution::expire_due_checkpoint`). It writes no table
//! itself.
//!
//! On time: an idle sweep looks every `SWEEP_INTERVAL` (one indexed read per kind), so an item
//! expires within that long of its deadline; a decision arriving after the deadline is refused
//! at once, whether or not the sweep has run. Exactly once, across instances: each expiry is a
//! guarded update under the workspace's lock, so two sweepers (or a sweeper and a decision) give
//! one transition. A sweeper that dies mid-item leaves its transaction uncommitted: the item is
//! still due and the next turn, here or on another instance, expires it.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::models::{region_release, releases};
use crate::db::{DbConn, Pool, now};
use crate::error::AppError;
use crate::worker::poller::Poller;

/// How often an idle sweeper looks for waits past their deadline.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// The most items one turn expires before the thread looks again (and may stop).
pub const BATCH: usize = 50;

/// Starts the sweeper thread; stopping it lets the item in flight finish.
pub fn spawn_sweeper(pool: Pool) -> Poller {
    Poller::spawn(
        "expiry-sweeper",
        "approval expiry sweep",
        SWEEP_INTERVAL,
        move || Ok(sweep(&mut *pool.get()?, now(), BATCH)? > 0),
    )
}

/// Expires up to `batch` packages and checkpoints whose deadline is at or before `at`, one
/// transaction each; returns how many. Tests pass an `at` of their choosing.
pub fn sweep(conn: &mut DbConn, at: NaiveDateTime, batch: usize) -> Result<usize, AppError> {
    let mut done = 0;
    while done < batch && releases::expire_due_package(conn, at)?.is_some() {
        done += 1;
    }
    while done < batch && region_release::execution::expire_due_checkpoint(conn, at)?.is_some() {
        done += 1;
    }
    Ok(done)
}
