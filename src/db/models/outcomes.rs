//! How many release packages and region release tasks are in each state across the instance,
//! counted when `/metrics` is scraped. Counting the rows (one grouped read of each table) keeps
//! the figures right whichever instance or worker made the change, and survives restarts.

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{region_tasks, release_packages};
use crate::domain::{PackageStatus, RegionTaskStatus};

/// Release packages by state: every state, zero where none is in it.
pub fn packages(conn: &mut DbConn) -> QueryResult<Vec<(PackageStatus, i64)>> {
    let rows: Vec<(String, i64)> = release_packages::table
        .group_by(release_packages::status)
        .select((release_packages::status, count_star()))
        .load(conn)?;
    Ok(by_state(PackageStatus::ALL, PackageStatus::as_str, &rows))
}

/// Region release tasks by state: every state, zero where none is in it.
pub fn region_tasks(conn: &mut DbConn) -> QueryResult<Vec<(RegionTaskStatus, i64)>> {
    let rows: Vec<(String, i64)> = region_tasks::table
        .group_by(region_tasks::status)
        .select((region_tasks::status, count_star()))
        .load(conn)?;
    Ok(by_state(
        RegionTaskStatus::ALL,
        RegionTaskStatus::as_str,
        &rows,
    ))
}

fn by_state<S: Copy>(
    all: &[S],
    text: fn(S) -> &'static str,
    rows: &[(String, i64)],
) -> Vec<(S, i64)> {
    all.iter()
        .map(|&s| {
            let n = rows
                .iter()
                .find(|(t, _)| t == text(s))
                .map_or(0, |(_, n)| *n);
            (s, n)
        })
        .collect()
}
