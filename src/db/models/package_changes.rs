//! What a package's tasks change against production, read for the package page: first every
//! task's sizes (no script text), then the texts of the tasks the page can afford, in one
//! statement each however many tasks the package holds.

use crate::domain::{PackageId, TaskId};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{package_tasks, production_scripts, release_tasks, script_versions};

diesel::define_sql_function! {
    /// SQL `octet_length(text)`: a text's size in bytes, read without its value (SQLite 3.43
    /// and later, PostgreSQL).
    fn octet_length(x: diesel::sql_types::Text) -> diesel::sql_types::Integer;
}

diesel::define_sql_function! {
    /// `octet_length` of a text that may be NULL (a left-joined column).
    #[sql_name = "octet_length"]
    fn nullable_octet_length(
        x: diesel::sql_types::Nullable<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>;
}

/// One task of a package and what production runs of its script, by size only.
#[derive(Debug, Queryable)]
pub struct ChangeSize {
    pub task_id: TaskId,
    pub version_id: i64,
    /// Bytes of the task's version.
    pub bytes: i32,
    /// The version production runs now, if the script is live.
    pub live_version_id: Option<i64>,
    pub live_version_number: Option<i32>,
    pub live_bytes: Option<i32>,
}

impl ChangeSize {
    /// Production runs exactly this task's version: nothing to diff.
    pub fn is_live(&self) -> bool {
        self.live_version_id == Some(self.version_id)
    }

    /// The bytes of both texts a diff of this task reads.
    pub fn diff_bytes(&self) -> usize {
        let live = self.live_bytes.unwrap_or(0).max(0) as usize;
        self.bytes.max(0) as usize + live
    }
}

/// Every task of package `package_id`, in the package's order, with its size and its script's
/// live version and size.
pub fn sizes(conn: &mut DbConn, package_id: PackageId) -> QueryResult<Vec<ChangeSize>> {
    package_tasks::table
        .inner_join(release_tasks::table)
        .inner_join(script_versions::table.on(script_versions::id.eq(release_tasks::version_id)))
        .left_join(
            production_scripts::table
                .on(production_scripts::script_id.eq(release_tasks::script_id)),
        )
        .filter(package_tasks::package_id.eq(package_id))
        .select((
            package_tasks::task_id,
            release_tasks::version_id,
            octet_length(script_versions::content),
            production_scripts::version_id.nullable(),
            production_scripts::version_number.nullable(),
            nullable_octet_length(production_scripts::content.nullable()),
        ))
        .order(package_tasks::position)
        .load(conn)
}

/// A task's version and what production runs of its script, as text.
#[derive(Debug, Queryable)]
pub struct ChangeTexts {
    pub task_id: TaskId,
    pub content: String,
    pub live_version_number: Option<i32>,
    pub live_content: Option<String>,
}

/// The texts of the tasks `task_ids` of package `package_id`. The caller bounds their size
/// with [`sizes`] first.
pub fn contents(
    conn: &mut DbConn,
    package_id: PackageId,
    task_ids: &[TaskId],
) -> QueryResult<Vec<ChangeTexts>> {
    package_tasks::table
        .inner_join(release_tasks::table)
        .inner_join(script_versions::table.on(script_versions::id.eq(release_tasks::version_id)))
        .left_join(
            production_scripts::table
                .on(production_scripts::script_id.eq(release_tasks::script_id)),
        )
        .filter(package_tasks::package_id.eq(package_id))
        .filter(package_tasks::task_id.eq_any(task_ids))
        .select((
            package_tasks::task_id,
            script_versions::content,
            production_scripts::version_number.nullable(),
            production_scripts::content.nullable(),
        ))
        .load(conn)
}
