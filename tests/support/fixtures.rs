//! Larger starting points several tests share.

use diesel::prelude::*;
use releasedesk::db::models::region_release::{self as rr, StepInput, TaskInput};
use releasedesk::db::schema::{inventory_entries, regions};
use releasedesk::domain::{Operation, RegionTaskId, StepKind, UserId, WorkspaceId};

use super::TestApp;

/// A region task in workspace `ws` that upgrades a component running in one of its regions
/// behind a Manual Approval naming `people`, executed by `executor`: the worker brings it to
/// the checkpoint.
pub async fn gated_rollout(
    app: &TestApp,
    ws: WorkspaceId,
    name: &'static str,
    executor: UserId,
    people: Vec<UserId>,
) -> RegionTaskId {
    app.db(move |c| {
        let (region, component): (i64, i64) = inventory_entries::table
            .inner_join(regions::table)
            .filter(regions::workspace_id.eq(ws))
            .filter(inventory_entries::present.eq(true))
            .order(inventory_entries::id.desc())
            .select((
                inventory_entries::region_id,
                inventory_entries::component_id,
            ))
            .first(c)
            .unwrap();
        let input = TaskInput {
            name: name.into(),
            description: Default::default(),
            operation: Operation::Upgrade,
            source_region_id: None,
            best_effort: false,
            steps: vec![
                StepInput {
                    kind: StepKind::Approval,
                    region_id: None,
                    component_ids: vec![],
                    people,
                },
                StepInput {
                    kind: StepKind::Deploy,
                    region_id: Some(region),
                    component_ids: vec![component],
                    people: vec![],
                },
            ],
        };
        let task = rr::create(c, executor, ws, &input).unwrap().id;
        rr::execute(c, executor, ws, task, None).unwrap();
        task
    })
    .await
}
