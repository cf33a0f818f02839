//! `/workspaces/{ws}/region-release/tasks`: the list, create/edit with an ordered list of steps,
//! and the detail page with its Release Process View (live), Release Info and Release History,
//! plus Execute, Suspend, Rollback and the checkpoint decisions.

use crate::domain::UserId;
use crate::domain::{RegionTaskId, StepId};
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::models::region_release::{
    self, CheckpointDecision, CommentRow, ExecutionRow, RegionTask, ResultRow, Step, StepInput,
    TaskFilter, TaskInput, TaskRow,
};
use crate::db::models::regions::{self, Component, Region};
use crate::db::models::workspaces::{self, Person, Workspace};
use crate::db::models::{freezes, stopped};
use crate::domain::{Comment, Description, Operation, Permission, RegionTaskStatus, StepKind};
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, Paging, fragment, refusal, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    operation: Option<String>,
    creator: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Template)]
#[template(path = "region_release/index.html", blocks = ["rows"])]
struct ListPage {
    layout: Layout,
    workspace: Workspace,
    tasks: Vec<TaskRow>,
    /// Why each task on the page that stands still does.
    why: HashMap<RegionTaskId, stopped::Why>,
    members: Vec<Person>,
    q: String,
    status: String,
    operation: String,
    creator: String,
    paging: Paging,
    can_develop: bool,
    /// Whether the Operation column offers Execute.
    can_deploy: bool,
}

impl ListPage {
    fn why_of(&self, id: &RegionTaskId) -> Option<&stopped::Why> {
        self.why.get(id)
    }
    fn statuses(&self) -> &'static [RegionTaskStatus] {
        RegionTaskStatus::ALL
    }
    fn operations(&self) -> &'static [Operation] {
        Operation::ALL
    }
    fn page_link(&self, page: i64) -> String {
        let pairs: Vec<(&str, String)> = [
            ("q", &self.q),
            ("status", &self.status),
            ("operation", &self.operation),
            ("creator", &self.creator),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .chain([("page", page.to_string())])
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// `GET /workspaces/{ws}/region-release/tasks`.
pub async fn index(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let trim = |s: Option<String>| s.map(|v| v.trim().to_owned()).unwrap_or_default();
    let (q, status, operation, creator) = (
        trim(query.q),
        trim(query.status),
        trim(query.operation),
        trim(query.creator).to_lowercase(),
    );
    if q.chars().count() > 200 || creator.len() > 40 {
        return Err(AppError::bad_request(
            "A search has at most 200 characters.",
        ));
    }
    let filter = TaskFilter {
        search: crate::search::NameSearch::parse(&q),
        status: match status.as_str() {
            "" => None,
            s => Some(
                RegionTaskStatus::parse(s)
                    .ok_or_else(|| AppError::bad_request(format!("Unknown status “{s}”.")))?,
            ),
        },
        operation: match operation.as_str() {
            "" => None,
            s => Some(
                Operation::parse(s)
                    .ok_or_else(|| AppError::bad_request(format!("Unknown operation “{s}”.")))?,
            ),
        },
        creator: Some(creator.clone()).filter(|c| !c.is_empty()),
    };
    let mut paging = Paging::new(query.page.as_deref(), query.per_page.as_deref(), 20)?;
    let is_htmx = ctx.current.is_htmx;
    let viewer = Viewer::of(&ctx.current);
    let can_develop = ctx.access.can(Permission::Develop);
    let can_deploy = ctx.access.can(Permission::Deploy);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(&state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Region Release · {}", workspace.name),
            "region-release",
            Some((&workspace, &access)),
        )?;
        let (tasks, total) = region_release::list(
            conn,
            workspace.id,
            &filter,
            paging.per_page,
            paging.offset(),
        )?;
        paging.set_total(total);
        let shown: Vec<_> = tasks.iter().map(|t| (t.id, t.status)).collect();
        let why = stopped::region_tasks(conn, workspace.id, &shown)?;
        let members = workspaces::people(conn, workspace.id)?;
        Ok(ListPage {
            layout,
            workspace,
            tasks,
            why,
            members,
            q,
            status,
            operation,
            creator,
            paging,
            can_develop,
            can_deploy,
        })
    })
    .await?;
    if is_htmx {
        return fragment(&page.as_rows());
    }
    render(&page, StatusCode::OK)
}

/// One step card of the form, as typed, with what is wrong with it.
#[derive(Clone, Debug, Default)]
struct StepRow {
    kind: String,
    region: String,
    components: Vec<String>,
    people: Vec<String>,
    error: Option<String>,
}

impl StepRow {
    fn of_kind(kind: &str) -> Self {
        StepRow {
            kind: kind.to_owned(),
            ..Default::default()
        }
    }
    fn is_deploy(&self) -> bool {
        StepKind::parse(&self.kind).is_none_or(|k| k == StepKind::Deploy)
    }
    fn is_checkpoint(&self) -> bool {
        StepKind::parse(&self.kind).is_none_or(StepKind::is_checkpoint)
    }
}

/// The create/edit form, as typed.
#[derive(Clone, Debug, Default)]
struct TaskForm {
    name: String,
    description: String,
    operation: String,
    source_region: String,
    best_effort: bool,
    steps: Vec<StepRow>,
}

/// The most step cards a form holds (the data layer's limit on steps).
const MAX_ROWS: usize = 50;

/// A step builder button pressed without JavaScript: the server edits the list and shows the
/// form again (with JavaScript, `static/app.js` does the same in the page).
#[derive(Clone, Copy, Debug, PartialEq)]
enum StepEdit {
    Add(StepKind),
    Remove(usize),
    MoveUp(usize),
    MoveDown(usize),
}

impl StepEdit {
    fn from_fields(fields: &[(String, String)]) -> Option<Self> {
        let index = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().parse::<usize>().ok())
        };
        if let Some((_, kind)) = fields.iter().find(|(k, _)| k == "add") {
            return Some(StepEdit::Add(
                StepKind::parse(kind).unwrap_or(StepKind::Deploy),
            ));
        }
        // "More steps", the button of the earlier fixed-row form.
        if fields.iter().any(|(k, _)| k == "more") {
            return Some(StepEdit::Add(StepKind::Deploy));
        }
        // A button with a hostile value still answers with the form, unchanged.
        let none = Some(StepEdit::Remove(usize::MAX));
        if let Some(i) = index("remove") {
            return i.map(StepEdit::Remove).or(none);
        }
        if let Some(i) = index("move_up") {
            return i.map(StepEdit::MoveUp).or(none);
        }
        if let Some(i) = index("move_down") {
            return i.map(StepEdit::MoveDown).or(none);
        }
        None
    }

    /// Applies the edit; indices out of range change nothing.
    fn apply(self, steps: &mut Vec<StepRow>, errors: &mut FormErrors) {
        let n = steps.len();
        match self {
            StepEdit::Add(_) if n >= MAX_ROWS => {
                errors.add("steps", format!("A task has at most {MAX_ROWS} steps."));
            }
            StepEdit::Add(kind) => steps.push(StepRow::of_kind(kind.as_str())),
            StepEdit::Remove(i) if i < n => {
                steps.remove(i);
            }
            StepEdit::MoveUp(i) if i > 0 && i < n => steps.swap(i - 1, i),
            StepEdit::MoveDown(i) if i + 1 < n => steps.swap(i, i + 1),
            _ => {}
        }
    }
}

impl TaskForm {
    fn from_fields(fields: &[(String, String)]) -> Self {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(f, _)| f == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let all = |k: &str| -> Vec<String> {
            fields
                .iter()
                .filter(|(f, _)| f == k)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let rows = get("rows")
            .trim()
            .parse::<usize>()
            .unwrap_or(1)
            .min(MAX_ROWS);
        // A row without a type is an unused row of an older form: left out.
        let steps = (0..rows)
            .map(|i| StepRow {
                kind: get(&format!("step{i}_kind")).trim().to_owned(),
                region: get(&format!("step{i}_region")),
                components: all(&format!("step{i}_components")),
                people: all(&format!("step{i}_people")),
                error: None,
            })
            .filter(|row| !row.kind.is_empty())
            .collect();
        TaskForm {
            name: get("name"),
            description: get("description"),
            operation: get("operation"),
            source_region: get("source_region"),
            best_effort: fields.iter().any(|(k, _)| k == "best_effort"),
            steps,
        }
    }

    fn of(task: &RegionTask, steps: Vec<StepRow>) -> Self {
        TaskForm {
            name: task.name.clone(),
            description: task.description.clone(),
            operation: task.operation.as_str().into(),
            source_region: task
                .source_region_id
                .map(|r| r.to_string())
                .unwrap_or_default(),
            best_effort: task.best_effort,
            steps,
        }
    }

    /// Says on the card of step `n` (counted from 1) what is wrong with it.
    fn mark_step(&mut self, n: usize, message: &str) {
        if let Some(row) = n.checked_sub(1).and_then(|i| self.steps.get_mut(i)) {
            let msg = message.trim_end_matches('.').to_owned() + ".";
            row.error = Some(match row.error.take() {
                Some(e) => format!("{e} {msg}"),
                None => msg,
            });
        }
    }

    /// Puts a data-layer message about the steps ("Step 2: …") on the card it names too.
    fn mark_from_message(&mut self, message: &str) {
        let digits: String = message
            .strip_prefix("Step ")
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = digits.parse::<usize>() {
            self.mark_step(n, message);
        }
    }

    fn input(&mut self, errors: &mut FormErrors) -> Option<TaskInput> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
            errors.add("name", "Enter a name of 1 to 120 characters.");
        }
        let description = errors.check("description", Description::parse(&self.description));
        let operation = Operation::parse(&self.operation);
        if operation.is_none() {
            errors.add(
                "operation",
                "Choose Bulk Deploy, Bulk Upgrade or Bulk Clone.",
            );
        }
        let id = |s: &str| s.trim().parse::<i64>().ok();
        // What each card lacks, all at once; the data layer checks the rest (and these again).
        let mut wrong = Vec::new();
        let mut steps = Vec::new();
        for (i, row) in self.steps.iter().enumerate() {
            let n = i + 1;
            let Some(kind) = StepKind::parse(&row.kind) else {
                wrong.push((n, "Unknown step type."));
                continue;
            };
            let step = StepInput {
                kind,
                region_id: id(&row.region),
                component_ids: row.components.iter().filter_map(|c| id(c)).collect(),
                people: row
                    .people
                    .iter()
                    .filter_map(|p| p.trim().parse().ok())
                    .collect(),
            };
            if kind == StepKind::Deploy && step.region_id.is_none() {
                wrong.push((n, "Choose the region to deploy to."));
            }
            if kind == StepKind::Deploy && step.component_ids.is_empty() {
                wrong.push((n, "Choose at least one component."));
            }
            if kind.is_checkpoint() && step.people.is_empty() {
                wrong.push((n, "Name at least one person."));
            }
            steps.push(step);
        }
        if !wrong.is_empty() {
            let summary = wrong
                .iter()
                .map(|(n, m)| format!("Step {n}: {}{}", m[..1].to_lowercase(), &m[1..]))
                .collect::<Vec<_>>()
                .join(" ");
            errors.add("steps", summary);
            for (n, m) in wrong {
                self.mark_step(n, m);
            }
        }
        Some(TaskInput {
            name,
            description: description?,
            operation: operation?,
            source_region_id: id(&self.source_region),
            best_effort: self.best_effort,
            steps,
        })
        .filter(|_| errors.is_empty())
    }
}

#[derive(Template)]
#[template(path = "region_release/form.html")]
struct FormPage {
    layout: Layout,
    workspace: Workspace,
    editing: Option<RegionTaskId>,
    form: TaskForm,
    errors: FormErrors,
    regions: Vec<Region>,
    components: Vec<Component>,
    people: Vec<Person>,
}

impl FormPage {
    fn operations(&self) -> &'static [Operation] {
        Operation::ALL
    }
    fn kinds(&self) -> &'static [StepKind] {
        StepKind::ALL
    }
    fn rows(&self) -> usize {
        self.form.steps.len()
    }
    fn has(&self, list: &[String], id: &impl std::fmt::Display) -> bool {
        list.iter().any(|v| v == &id.to_string())
    }
    /// How many of the components shown a card has ticked.
    fn chosen_components(&self, row: &StepRow) -> usize {
        let ids = self.components.iter().map(|c| c.id);
        ids.filter(|id| self.has(&row.components, id)).count()
    }
    /// How many of the people shown a card has ticked.
    fn chosen_people(&self, row: &StepRow) -> usize {
        let ids = self.people.iter().map(|p| p.user_id);
        ids.filter(|id| self.has(&row.people, id)).count()
    }
    /// The card the page's `<template>` holds, for app.js to copy when a step is added.
    fn blank(&self) -> StepRow {
        StepRow::of_kind(StepKind::Deploy.as_str())
    }
    fn action(&self) -> String {
        match self.editing {
            Some(id) => crate::paths::region_task_edit(&self.workspace.slug, id),
            None => crate::paths::region_tasks(&self.workspace.slug),
        }
    }
}

async fn form_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    editing: Option<RegionTaskId>,
    form: Option<TaskForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let form = match (form, editing) {
            (Some(f), _) => f,
            (None, Some(id)) => {
                let task =
                    region_release::find(conn, workspace.id, id)?.ok_or(AppError::NotFound)?;
                let mut components = region_release::task_step_components(conn, id)?;
                let mut people = region_release::task_step_people(conn, id)?;
                let mut rows = Vec::new();
                for s in region_release::steps(conn, id)? {
                    rows.push(StepRow {
                        kind: s.kind.as_str().into(),
                        region: s.region_id.map(|r| r.to_string()).unwrap_or_default(),
                        components: components
                            .remove(&s.id)
                            .unwrap_or_default()
                            .iter()
                            .map(|c| c.id.to_string())
                            .collect(),
                        people: people
                            .remove(&s.id)
                            .unwrap_or_default()
                            .iter()
                            .map(|(id, _)| id.to_string())
                            .collect(),
                        error: None,
                    });
                }
                TaskForm::of(&task, rows)
            }
            (None, None) => TaskForm {
                operation: Operation::Deploy.as_str().into(),
                steps: vec![StepRow::of_kind(StepKind::Deploy.as_str())],
                ..Default::default()
            },
        };
        let title = if editing.is_some() {
            "Edit region release task"
        } else {
            "New region release task"
        };
        let layout = Layout::build(
            conn,
            &viewer,
            title,
            "region-release",
            Some((&workspace, &access)),
        )?;
        let regions = regions::list_regions(conn, workspace.id)?;
        let components = regions::list_components(conn, workspace.id)?;
        let people = workspaces::people(conn, workspace.id)?
            .into_iter()
            .filter(|m| m.is_active && (m.is_tenant_admin || m.role().allows(Permission::Deploy)))
            .collect();
        Ok(FormPage {
            layout,
            workspace,
            editing,
            form,
            errors,
            regions,
            components,
            people,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/region-release/tasks/new`.
pub async fn new_form(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
) -> Result<HttpResponse, AppError> {
    form_page(
        &state,
        ctx,
        None,
        None,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `GET /workspaces/{ws}/region-release/tasks/{id}/edit`.
pub async fn edit_form(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    form_page(
        &state,
        ctx,
        Some(id),
        None,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn save(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    editing: Option<RegionTaskId>,
    fields: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let mut form = TaskForm::from_fields(&fields);
    let mut errors = FormErrors::default();
    if let Some(edit) = StepEdit::from_fields(&fields) {
        edit.apply(&mut form.steps, &mut errors);
        return form_page(&state, ctx, editing, Some(form), errors, StatusCode::OK).await;
    }
    let Some(input) = form.input(&mut errors) else {
        return form_page(
            &state,
            ctx,
            editing,
            Some(form),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let outcome = with_conn(&state, move |conn| match editing {
        Some(id) => region_release::update(conn, actor, ws_id, id, &input),
        None => region_release::create(conn, actor, ws_id, &input),
    })
    .await;
    match outcome {
        Ok(task) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("“{}” saved. Execute it when you are ready.", task.name),
            );
            Ok(see_other(&crate::paths::region_task(&slug, task.id)))
        }
        Err(AppError::Field { field, message }) => {
            if field == "steps" {
                form.mark_from_message(&message);
            }
            errors.add(field, message);
            form_page(
                &state,
                ctx,
                editing,
                Some(form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict(message)) => match editing {
            // Edited while it started running: the task as it is now, and why.
            Some(id) => respond(&state, ctx, id, Err(AppError::Conflict(message))).await,
            None => Err(AppError::Conflict(message)),
        },
        Err(e) => Err(e),
    }
}

/// `POST /workspaces/{ws}/region-release/tasks`.
pub async fn create(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    save(state, ctx, None, form.into_inner()).await
}

/// `POST /workspaces/{ws}/region-release/tasks/{id}/edit`.
pub async fn update(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    save(state, ctx, Some(id), form.into_inner()).await
}

/// A step card of the Release Process View.
struct StepCard {
    step: Step,
    region: Option<String>,
    components: Vec<Component>,
    people: Vec<(UserId, String)>,
    comments: Vec<CommentRow>,
    /// The signed-in user may Agree/Reject this checkpoint now.
    can_decide: bool,
}

#[derive(Template)]
#[template(path = "region_release/show.html", blocks = ["process"])]
struct DetailPage {
    layout: Layout,
    workspace: Workspace,
    task: RegionTask,
    creator: Option<String>,
    released_by: Option<String>,
    source_region: Option<String>,
    cards: Vec<StepCard>,
    executions: Vec<ExecutionRow>,
    results: Vec<ResultRow>,
    tab: String,
    can_develop: bool,
    can_deploy: bool,
    /// The Execute dialog opens with the page (the list's Operation column links here).
    open_execute: bool,
    /// Rollback is offered: the state allows it and a release changed something to restore.
    can_roll_back: bool,
    /// Where the viewer's Execute may start, and why later steps are not offered.
    starts: region_release::Starts,
    /// Why the task stands still (a checkpoint and whom it waits for, a failure, a suspension).
    why: Option<stopped::Why>,
    /// A freeze window that holds the task now (Execute is refused), in words.
    frozen: Option<String>,
    /// An admin's override of a freeze for this task, shown as a highlighted event.
    freeze_override: Option<freezes::Override>,
    /// A freeze holds the task and the viewer may override it.
    can_override: bool,
}

impl DetailPage {
    /// Whether the Execute dialog offers step `position` as a start.
    fn offers(&self, position: &i32) -> bool {
        self.starts.allows(*position)
    }
    /// Whether some steps are left out of the Execute dialog (and so need the reason).
    fn limits(&self) -> bool {
        self.cards
            .last()
            .is_some_and(|c| !self.offers(&c.step.position))
    }
    fn is_live(&self) -> bool {
        self.task.status().is_running()
    }
    /// Poll while the task runs — except for someone who can decide a waiting checkpoint now:
    /// a swap would close the decision dialog they are typing in, and nothing moves until they
    /// (or another named person) decide; deciding reloads the page.
    fn polls(&self) -> bool {
        self.is_live() && !self.cards.iter().any(|c| c.can_decide)
    }
    /// A run's number within this task (its first run is #1), not its global id.
    fn run_number(&self, execution_id: &i64) -> usize {
        self.executions
            .iter()
            .filter(|e| e.id <= *execution_id)
            .count()
    }
    fn results_of(&self, execution_id: &i64) -> Vec<&ResultRow> {
        self.results
            .iter()
            .filter(|r| r.execution_id == *execution_id)
            .collect()
    }
    /// Components with their configuration, for Release Info.
    fn info(&self) -> Vec<(&str, &Component)> {
        self.cards
            .iter()
            .flat_map(|c| {
                c.components
                    .iter()
                    .map(move |comp| (c.region.as_deref().unwrap_or(""), comp))
            })
            .collect()
    }
    /// "12 s", or what an unfinished step is doing.
    fn timing(&self, step: &Step) -> String {
        match (step.started_at, step.finished_at, step.status()) {
            (Some(a), Some(b), _) => format!("{} s", (b - a).num_seconds().max(0)),
            (Some(_), None, crate::domain::StepStatus::Waiting) => match step.expires_at {
                // Times are rendered in UTC here (a string, not a `<time>`), as `why` does.
                Some(t) => format!(
                    "waiting for a decision until {} UTC",
                    t.format("%Y-%m-%d %H:%M")
                ),
                None => "waiting for a decision".into(),
            },
            (Some(_), None, _) => "running".into(),
            _ => String::new(),
        }
    }
}

#[derive(Deserialize)]
pub struct DetailQuery {
    tab: Option<String>,
    /// Present (`?execute=1`): open the Execute dialog, as the list's Execute link asks.
    execute: Option<String>,
}

async fn detail(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    id: RegionTaskId,
    tab: String,
    status: StatusCode,
    process_only: bool,
    open_execute: bool,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let can_develop = ctx.access.can(Permission::Develop);
    let can_deploy = ctx.access.can(Permission::Deploy);
    // A webhook receiver's answer can hold what a service should not have said (a token, a
    // stack trace): workspace admins see it, other members see the status and a short reason.
    let me = ctx.user().id;
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let task = region_release::find(conn, workspace.id, id)?.ok_or(AppError::NotFound)?;
        let why = stopped::region_tasks(conn, workspace.id, &[(id, task.status())])?.remove(&id);
        let layout = if process_only {
            // The fragment's forms (checkpoint decisions) need the session's CSRF token.
            let mut bare = Layout::bare("");
            bare.csrf = viewer.csrf.clone();
            bare
        } else {
            Layout::build(
                conn,
                &viewer,
                task.name.clone(),
                "region-release",
                Some((&workspace, &access)),
            )?
        };
        let names = crate::db::models::users::usernames(
            conn,
            task.created_by.into_iter().chain(task.released_by),
        )?;
        let name_of = |uid: Option<UserId>| uid.and_then(|u| names.get(&u).cloned());
        let (creator, released_by) = (name_of(task.created_by), name_of(task.released_by));
        let steps = region_release::steps(conn, task.id)?;
        let starts = region_release::starts_for(conn, &task, &steps, me)?;
        let can_roll_back = can_deploy
            && task.status().can_roll_back()
            && region_release::changed_anything(conn, task.id)?;
        let comments = region_release::comments(conn, task.id)?;
        let executor = region_release::running_execution(conn, task.id)?.and_then(|(_, by)| by);
        // One query for every region name the cards and the header show.
        let region_names: HashMap<i64, String> = regions::list_regions(conn, workspace.id)?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
        let source_region = task
            .source_region_id
            .and_then(|r| region_names.get(&r).cloned());
        // One query each for all steps' components and people.
        let mut step_components = region_release::task_step_components(conn, task.id)?;
        let mut step_people = region_release::task_step_people(conn, task.id)?;
        let mut cards = Vec::new();
        for step in steps {
            let region = step.region_id.and_then(|r| region_names.get(&r).cloned());
            let components = step_components.remove(&step.id).unwrap_or_default();
            let people = step_people.remove(&step.id).unwrap_or_default();
            let can_decide =
                region_release::may_decide_checkpoint(&access, &task, &step, &people, executor, me)
                    .is_ok();
            let step_comments = comments
                .iter()
                .filter(|c| c.step_id == step.id)
                .map(|c| CommentRow {
                    step_id: c.step_id,
                    username: c.username.clone(),
                    decision: c.decision,
                    comment: c.comment.clone(),
                    created_at: c.created_at,
                })
                .collect();
            cards.push(StepCard {
                step,
                region,
                components,
                people,
                comments: step_comments,
                can_decide,
            });
        }
        let (frozen, freeze_override, can_override) = if process_only {
            (None, None, false)
        } else {
            let regions = region_release::task_regions(conn, task.id)?;
            let hold = freezes::holding_region_task(
                conn,
                workspace.id,
                task.id,
                &regions,
                chrono::Utc::now(),
            )?;
            let over = freezes::region_task_override(conn, task.id)?;
            let can = hold.is_some()
                && task.status().can_pass_freeze()
                && over.is_none()
                && access.can(Permission::Manage);
            (hold.map(|h| h.to_string()), over, can)
        };
        // Only the history tab shows them (the process view, polled every 2 s while a release
        // runs, read a long history's every result for nothing).
        let (executions, results) = if tab == "history" && !process_only {
            (
                region_release::executions(conn, task.id)?,
                region_release::results(conn, task.id, &access)?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(DetailPage {
            layout,
            workspace,
            task,
            creator,
            released_by,
            source_region,
            cards,
            executions,
            results,
            tab,
            can_develop,
            can_deploy,
            open_execute,
            can_roll_back,
            starts,
            why,
            frozen,
            freeze_override,
            can_override,
        })
    })
    .await?;
    if process_only {
        let mut resp = fragment(&page.as_process())?;
        if !page.is_live() && !page.cards.iter().any(|c| c.can_decide) {
            // Stopped: reload once so the header, history and buttons show the outcome too.
            resp.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-refresh"),
                actix_web::http::header::HeaderValue::from_static("true"),
            );
        }
        return Ok(resp);
    }
    render(&page, status)
}

/// `GET /workspaces/{ws}/region-release/tasks/{id}?tab=process|info|history`.
pub async fn show(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let tab = match query.tab.as_deref() {
        None | Some("") | Some("process") => "process",
        Some("info") => "info",
        Some("history") => "history",
        Some(_) => return Err(AppError::bad_request("tab is process, info or history.")),
    };
    let open_execute = query.execute.is_some();
    detail(
        &state,
        ctx,
        id,
        tab.into(),
        StatusCode::OK,
        false,
        open_execute,
    )
    .await
}

/// `GET /workspaces/{ws}/region-release/tasks/{id}/process`: the live pipeline fragment.
pub async fn process(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    detail(
        &state,
        ctx,
        id,
        "process".into(),
        StatusCode::OK,
        true,
        false,
    )
    .await
}

fn back(ctx: &WorkspaceCtx, id: RegionTaskId) -> HttpResponse {
    see_other(&crate::paths::region_task(&ctx.workspace.slug, id))
}

/// Success goes back to the task with a message. A refusal (the state changed, someone else
/// acted first, a missing comment) answers 409 or 422 with the task page and the message.
async fn respond(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    id: RegionTaskId,
    outcome: Result<String, AppError>,
) -> Result<HttpResponse, AppError> {
    let (message, status) = match outcome {
        Ok(message) => {
            session::flash(&ctx.current.session, FlashKind::Ok, message);
            return Ok(back(&ctx, id));
        }
        Err(AppError::Conflict(message)) => (message, StatusCode::CONFLICT),
        Err(AppError::Field { message, .. }) => (message, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => return Err(e),
    };
    session::flash(&ctx.current.session, FlashKind::Error, message.clone());
    let page = detail(state, ctx, id, "process".into(), status, false, false).await?;
    Ok(refusal(page, message))
}

#[derive(Deserialize)]
pub struct ExecuteForm {
    #[serde(default)]
    start: String,
}

/// `POST …/{id}/execute` with `start` (a step number).
pub async fn execute(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
    form: web::Form<ExecuteForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Deploy)?;
    let (_, id) = path.into_inner();
    let start = match form.start.trim() {
        "" => None,
        s => Some(
            s.parse::<i32>()
                .map_err(|_| AppError::bad_request("start is a step number."))?,
        ),
    };
    let (actor, ws) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        region_release::execute(conn, actor, ws, id, start)
    })
    .await
    .map(|_| "Release started.".to_owned());
    respond(&state, ctx, id, outcome).await
}

/// `POST …/{id}/suspend`.
pub async fn suspend(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Deploy)?;
    let (_, id) = path.into_inner();
    let (actor, ws) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        region_release::suspend(conn, actor, ws, id)
    })
    .await
    .map(|s| match s {
        RegionTaskStatus::Suspended => "Suspended. Execute resumes it.".to_owned(),
        _ => "Suspending: the running step finishes first.".to_owned(),
    });
    respond(&state, ctx, id, outcome).await
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// `POST …/{id}/rollback` with `reason`.
pub async fn rollback(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Deploy)?;
    let (_, id) = path.into_inner();
    let (actor, ws) = (ctx.user().id, ctx.workspace.id);
    let reason = match Comment::parse(&form.into_inner().reason) {
        Ok(reason) => reason,
        Err(e) => return respond(&state, ctx, id, Err(AppError::field("reason", e.0))).await,
    };
    let outcome = with_conn(&state, move |conn| {
        region_release::rollback(conn, actor, ws, id, &reason)
    })
    .await
    .map(|_| "Rollback started.".to_owned());
    respond(&state, ctx, id, outcome).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

/// `POST …/{id}/steps/{step}/decision` with `decision` (agree|reject|comment) and `comment`.
pub async fn decide(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId, StepId)>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let (_, id, step) = path.into_inner();
    let form = form.into_inner();
    let comment = match Comment::parse(&form.comment) {
        Ok(comment) => comment,
        Err(e) => return respond(&state, ctx, id, Err(AppError::field("comment", e.0))).await,
    };
    let (actor, ws) = (ctx.user().id, ctx.workspace.id);
    let outcome = match form.decision.as_str() {
        "agree" | "reject" => {
            let d = if form.decision == "agree" {
                CheckpointDecision::Agree
            } else {
                CheckpointDecision::Reject
            };
            with_conn(&state, move |conn| {
                region_release::decide_checkpoint(conn, actor, ws, id, step, d, &comment)
            })
            .await
            .map(|_| {
                if d == CheckpointDecision::Agree {
                    "Agreed: the release continues.".to_owned()
                } else {
                    "Rejected: the release stopped as failed.".to_owned()
                }
            })
        }
        "comment" => with_conn(&state, move |conn| {
            region_release::comment(conn, actor, ws, id, step, &comment)
        })
        .await
        .map(|_| "Comment added.".to_owned()),
        _ => {
            return Err(AppError::bad_request(
                "decision is agree, reject or comment.",
            ));
        }
    };
    respond(&state, ctx, id, outcome).await
}
