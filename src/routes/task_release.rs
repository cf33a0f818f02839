//! Task Release: the Tasks tab (filters, fuzzy search, sorting, pagination, Release and Revoke
//! on selected tasks), a task's diffs, the Packages tab, package details with live progress and
//! each task's change against production, review decisions, package comparison, and the
//! Production page.

use crate::domain::{PackageId, TaskId, UserId, WorkspaceId};
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::models::audit::{self, AuditRow};
use crate::db::models::production::{self, LiveScript};
use crate::db::models::releases::{
    self, Decision, PackageFilter, PackageRow, PackageTaskRow, ReleaseRequest, ReviewerRow,
    TaskFilter, TaskRow, TaskSort,
};
use crate::db::models::workspaces::{self, Person, Workspace};
use crate::db::models::{freezes, jobs, package_changes, scripts, stopped};
use crate::diff::{self, TextDiff, diff_texts};
use crate::domain::{Comment, PackageName, PackageStatus, Permission, TaskStatus};
use crate::error::AppError;
use crate::filters;
use crate::routes::form::Form;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, Paging, download, fragment, refusal, render, see_other};
use crate::search::NameSearch;
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

fn clean(s: Option<String>, max: usize, what: &str) -> Result<Option<String>, AppError> {
    match s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(AppError::bad_request(format!(
            "{what} has at most {max} characters."
        ))),
        other => Ok(other),
    }
}

/// Query string of the Tasks tab; every filter lives in the URL so a view can be bookmarked.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TasksQuery {
    q: Option<String>,
    submitter: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// The parsed Tasks tab query (what the template shows back).
#[derive(Clone, Debug)]
struct TasksView {
    q: String,
    submitter: String,
    status: String,
    sort: TaskSort,
    descending: bool,
    paging: Paging,
}

impl TasksView {
    fn parse(query: TasksQuery) -> Result<Self, AppError> {
        let status = clean(query.status, 20, "status")?.unwrap_or_default();
        if !status.is_empty() && TaskStatus::parse(&status).is_none() {
            return Err(AppError::bad_request(format!("Unknown status “{status}”.")));
        }
        let sort = match clean(query.sort, 20, "sort")? {
            None => TaskSort::SubmittedAt,
            Some(s) => TaskSort::parse(&s)
                .ok_or_else(|| AppError::bad_request("sort is submitted_at, name or status."))?,
        };
        let descending = match query.dir.as_deref() {
            None | Some("") => sort == TaskSort::SubmittedAt,
            Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(AppError::bad_request("dir is asc or desc.")),
        };
        Ok(TasksView {
            q: clean(query.q, 200, "A search")?.unwrap_or_default(),
            submitter: clean(query.submitter, 40, "submitter")?
                .unwrap_or_default()
                .to_lowercase(),
            status,
            sort,
            descending,
            paging: Paging::new(query.page.as_deref(), query.per_page.as_deref(), 20)?,
        })
    }

    fn query_string(&self, page: i64, sort: Option<(TaskSort, bool)>) -> String {
        let (sort, desc) = sort.unwrap_or((self.sort, self.descending));
        let mut q: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("submitter", &self.submitter),
            ("status", &self.status),
        ] {
            if !v.is_empty() {
                q.push((k, v.clone()));
            }
        }
        q.push(("sort", sort.as_str().into()));
        q.push(("dir", if desc { "desc" } else { "asc" }.into()));
        if self.paging.per_page != 20 {
            q.push(("per_page", self.paging.per_page.to_string()));
        }
        q.push(("page", page.to_string()));
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
}

/// The Release dialog's values, kept when it is re-rendered with a message.
#[derive(Debug, Default)]
struct ReleaseForm {
    selected: Vec<TaskId>,
    reviewers: Vec<UserId>,
    name: String,
    comment: String,
    errors: FormErrors,
    alert: Option<String>,
}

#[derive(Template)]
#[template(path = "task_release/tasks.html", blocks = ["rows"])]
struct TasksPage {
    layout: Layout,
    workspace: Workspace,
    view: TasksView,
    tasks: Vec<TaskRow>,
    submitters: Vec<Person>,
    reviewers: Vec<Person>,
    me: UserId,
    can_release: bool,
    can_revoke_any: bool,
    needs_approval: bool,
    form: ReleaseForm,
    /// Every selectable task matching the filters, when there are more than this page shows
    /// and at most 100 (one package's worth): "Select all N matching".
    matching: Vec<TaskId>,
}

/// Whether the Tasks tab offers a checkbox for `t`: releasable, or revocable by this person.
fn selectable(t: &TaskRow, can_revoke_any: bool, me: UserId) -> bool {
    t.status().can_release()
        || (t.status().can_revoke() && (can_revoke_any || t.submitted_by_id == Some(me)))
}

impl TasksPage {
    /// The page sizes offered (any of 1 to 200 works in the address).
    fn page_sizes(&self) -> [i64; 3] {
        [20, 50, 100]
    }
    /// `matching` as the button's `data-select-ids`.
    fn matching_ids(&self) -> String {
        self.matching
            .iter()
            .map(TaskId::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// Selected tasks that are not on this page (a re-rendered form keeps them).
    fn carried(&self) -> Vec<TaskId> {
        self.form
            .selected
            .iter()
            .copied()
            .filter(|id| !self.tasks.iter().any(|t| t.id == *id))
            .collect()
    }
    fn statuses(&self) -> &'static [TaskStatus] {
        TaskStatus::ALL
    }
    fn sort_link(&self, column: &str) -> String {
        let sort = TaskSort::parse(column).unwrap_or(TaskSort::SubmittedAt);
        let desc = if self.view.sort == sort {
            !self.view.descending
        } else {
            sort == TaskSort::SubmittedAt
        };
        self.view.query_string(1, Some((sort, desc)))
    }
    fn sort_mark(&self, column: &str) -> &'static str {
        match (
            TaskSort::parse(column) == Some(self.view.sort),
            self.view.descending,
        ) {
            (false, _) => "",
            (true, true) => " ↓",
            (true, false) => " ↑",
        }
    }
    fn aria_sort(&self, column: &str) -> &'static str {
        match (
            TaskSort::parse(column) == Some(self.view.sort),
            self.view.descending,
        ) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }
    fn page_link(&self, page: i64) -> String {
        self.view.query_string(page, None)
    }
    /// The current view's query string, to come back to after a POST.
    fn back(&self) -> String {
        self.view.query_string(self.view.paging.page, None)
    }
    fn is_selected(&self, id: &TaskId) -> bool {
        self.form.selected.contains(id)
    }
    fn is_reviewer_chosen(&self, id: &UserId) -> bool {
        self.form.reviewers.contains(id)
    }
    /// Whether the current user may select this task (to release or revoke it).
    fn may_select(&self, t: &TaskRow) -> bool {
        selectable(t, self.can_revoke_any, self.me)
    }
}

async fn tasks_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    mut view: TasksView,
    form: ReleaseForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let is_htmx = ctx.current.is_htmx && status == StatusCode::OK;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        // An htmx request swaps in the rows only: the navigation and the pickers around them
        // are not read (on PostgreSQL, 6 of a page's 10 statements).
        let layout = Layout::build_unless_fragment(
            is_htmx,
            conn,
            &viewer,
            format!("Tasks · {}", workspace.name),
            "tasks",
            Some((&workspace, &access)),
        )?;
        let filter = TaskFilter {
            search: NameSearch::parse(&view.q),
            submitter: Some(view.submitter.clone()).filter(|s| !s.is_empty()),
            status: TaskStatus::parse(&view.status),
            sort: view.sort,
            descending: view.descending,
            before: None,
        };
        let (tasks, total) = releases::list_tasks(
            conn,
            workspace.id,
            &filter,
            view.paging.per_page,
            view.paging.offset(),
        )?;
        view.paging.set_total(total);
        let can_release = access.can(Permission::Develop);
        let can_revoke_any = access.can(Permission::Deploy);
        let me = viewer.user.id;
        let matching = if can_release
            && !view.paging.more
            && view.paging.total <= releases::MAX_TASKS_PER_PACKAGE as i64
            && view.paging.total > tasks.len() as i64
        {
            releases::list_tasks(
                conn,
                workspace.id,
                &filter,
                releases::MAX_TASKS_PER_PACKAGE as i64,
                0,
            )?
            .0
            .iter()
            .filter(|t| selectable(t, can_revoke_any, me))
            .map(|t| t.id)
            .collect()
        } else {
            Vec::new()
        };
        let members = if is_htmx {
            Vec::new()
        } else {
            workspaces::people(conn, workspace.id)?
        };
        let reviewers = members
            .iter()
            .filter(|m| m.is_reviewer() && m.may_review() && m.user_id != viewer.user.id)
            .cloned()
            .collect();
        let policy = workspace.approval_policy();
        Ok(TasksPage {
            layout,
            view,
            tasks,
            submitters: members,
            reviewers,
            me,
            can_release,
            can_revoke_any,
            needs_approval: releases::needs_approval(policy, &access),
            form,
            workspace,
            matching,
        })
    })
    .await?;
    if is_htmx {
        return fragment(&page.as_rows());
    }
    render(&page, status)
}

/// `GET /workspaces/{ws}/task-release/tasks`.
pub async fn tasks(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<TasksQuery>,
) -> Result<HttpResponse, AppError> {
    let view = TasksView::parse(query.into_inner())?;
    tasks_page(&state, ctx, view, ReleaseForm::default(), StatusCode::OK).await
}

/// The Tasks tab's selection form (release and revoke): the checked tasks, the release's
/// fields, and `back`, the tab's query string to return to.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SelectionForm {
    task_ids: Vec<TaskId>,
    reviewers: Vec<UserId>,
    name: String,
    comment: String,
    back: String,
}

impl SelectionForm {
    fn view(&self) -> Result<TasksView, AppError> {
        TasksView::parse(serde_urlencoded::from_str(&self.back).unwrap_or_default())
    }
}

/// `reviewers=3&reviewers=5`: the people added to a waiting package.
#[derive(Deserialize)]
pub struct ReviewersForm {
    #[serde(default)]
    reviewers: Vec<UserId>,
}

/// `POST /workspaces/{ws}/task-release/release`: selected tasks → a package.
pub async fn release(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: Form<SelectionForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let form = form.into_inner();
    let view = form.view()?;
    let mut rf = ReleaseForm {
        selected: form.task_ids,
        reviewers: form.reviewers,
        name: form.name,
        comment: form.comment,
        ..Default::default()
    };
    let name = rf.errors.check("name", PackageName::parse(&rf.name));
    let comment = rf.errors.check("comment", Comment::parse(&rf.comment));
    let (Some(name), Some(comment)) = (name, comment) else {
        return tasks_page(&state, ctx, view, rf, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let req = ReleaseRequest {
        task_ids: rf.selected.clone(),
        name,
        comment,
        reviewers: rf.reviewers.clone(),
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    match with_conn(&state, move |conn| {
        releases::release(conn, actor, ws_id, &req)
    })
    .await
    {
        Ok(done) => {
            let text = if done.needs_approval {
                format!("Package “{}” sent for approval.", done.name)
            } else {
                format!("Package “{}” is being released to production.", done.name)
            };
            session::flash(&ctx.current.session, FlashKind::Ok, text);
            Ok(see_other(&crate::paths::package(&slug, done.package_id)))
        }
        Err(AppError::Field { field, message }) => {
            rf.errors.add(field, message);
            tasks_page(&state, ctx, view, rf, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::BadRequest(message) | AppError::Conflict(message)) => {
            rf.alert = Some(message);
            tasks_page(&state, ctx, view, rf, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /workspaces/{ws}/task-release/revoke`.
pub async fn revoke(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: Form<SelectionForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let form = form.into_inner();
    let view = form.view()?;
    let selected = form.task_ids;
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let back = format!(
        "{}?{}",
        crate::paths::tasks(&slug),
        view.query_string(view.paging.page, None)
    );
    let ids2 = selected.clone();
    match with_conn(&state, move |conn| {
        releases::revoke(conn, actor, ws_id, &ids2)
    })
    .await
    {
        Ok(n) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("{n} task(s) revoked."),
            );
            Ok(see_other(&back))
        }
        Err(
            AppError::BadRequest(message)
            | AppError::Conflict(message)
            | AppError::Forbidden(message),
        ) => {
            let form = ReleaseForm {
                selected,
                alert: Some(message),
                ..Default::default()
            };
            tasks_page(&state, ctx, view, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "task_release/task.html")]
struct TaskPage {
    layout: Layout,
    workspace: Workspace,
    task: TaskRow,
    previous: Option<(String, TextDiff)>,
    against_production: Option<(String, TextDiff)>,
    side: bool,
}

impl TaskPage {
    /// Where this task's change against `against` (`previous` or `production`) is downloaded
    /// whole (`task_diff`).
    fn diff_download(&self, against: &str) -> String {
        format!(
            "{}?against={against}",
            crate::paths::task_diff(&self.workspace.slug, self.task.id)
        )
    }
}

#[derive(Deserialize)]
pub struct ViewQuery {
    view: Option<String>,
}

/// `GET /workspaces/{ws}/task-release/tasks/{id}`: the change against the previous version and
/// against production.
pub async fn task(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, TaskId)>,
    query: web::Query<ViewQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let side = query.view.as_deref() == Some("side");
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_conn(&state, move |conn| {
        let task = releases::find_task(conn, workspace.id, id)?.ok_or(AppError::NotFound)?;
        let layout = Layout::build(
            conn,
            &viewer,
            format!("{} v{}", task.name, task.version_number),
            "tasks",
            Some((&workspace, &access)),
        )?;
        let this = scripts::version(conn, task.script_id, task.version_number)?
            .ok_or(AppError::NotFound)?;
        let previous = match scripts::version(conn, task.script_id, task.version_number - 1)? {
            Some(p) => Some((
                format!("v{} → v{}", p.number, this.number),
                diff_texts(&p.content, &this.content, 3),
            )),
            None => Some((
                format!("new script → v{}", this.number),
                diff_texts("", &this.content, 3),
            )),
        };
        let against_production =
            production::live_version(conn, task.script_id)?.map(|(n, content, ..)| {
                (
                    format!("production v{n} → v{}", this.number),
                    diff_texts(&content, &this.content, 3),
                )
            });
        Ok(TaskPage {
            layout,
            workspace,
            task,
            previous,
            against_production,
            side,
        })
    })
    .await?;
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct TaskDiffQuery {
    against: Option<String>,
}

/// `GET /workspaces/{ws}/task-release/tasks/{id}/diff?against=previous|production`: the whole
/// change of the task's page as a unified diff (one script: one pair of contents in memory).
pub async fn task_diff(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, TaskId)>,
    query: web::Query<TaskDiffQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let against_production = match query.against.as_deref().map(str::trim) {
        None | Some("" | "previous") => false,
        Some("production") => true,
        Some(_) => return Err(AppError::bad_request("against is previous or production.")),
    };
    let ws_id = ctx.workspace.id;
    let (name, text) = with_conn(&state, move |conn| {
        let task = releases::find_task(conn, ws_id, id)?.ok_or(AppError::NotFound)?;
        let this = scripts::version(conn, task.script_id, task.version_number)?
            .ok_or(AppError::NotFound)?;
        let (old, old_label) = if against_production {
            match production::live_version(conn, task.script_id)? {
                Some((n, content, ..)) => (content, Some(format!("v{n} in production"))),
                None => (String::new(), None),
            }
        } else {
            match scripts::version(conn, task.script_id, task.version_number - 1)? {
                Some(p) => (p.content, Some(format!("v{}", p.number))),
                None => (String::new(), None),
            }
        };
        let (a, b) =
            download::diff_labels(&task.name, old_label, Some(format!("v{}", this.number)));
        Ok((task.name, diff::unified(&old, &this.content, &a, &b)))
    })
    .await?;
    let which = if against_production {
        "production"
    } else {
        "previous"
    };
    Ok(download::diff_file(&download::diff_filename(&name, which)).body(text))
}

/// Query string of the Packages tab.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PackagesQuery {
    q: Option<String>,
    applicant: Option<String>,
    released_by: Option<String>,
    status: Option<String>,
    applied_from: Option<String>,
    applied_to: Option<String>,
    released_from: Option<String>,
    released_to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// A date filter: `2026-11-23` (a whole day, so `to` includes that day).
pub(crate) fn date(
    raw: &Option<String>,
    what: &str,
    end_of_day: bool,
) -> Result<Option<NaiveDateTime>, AppError> {
    let Some(s) = raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AppError::bad_request(format!("{what} must be a date like 2026-11-23.")))?;
    if !(2000..=2100).contains(&chrono::Datelike::year(&d)) {
        return Err(AppError::bad_request(format!("{what} is out of range.")));
    }
    let d = if end_of_day {
        d.succ_opt().unwrap_or(d)
    } else {
        d
    };
    Ok(d.and_hms_opt(0, 0, 0))
}

struct PackagesView {
    raw: PackagesQuery,
    q: String,
    filter: PackageFilter,
    paging: Paging,
}

impl PackagesView {
    fn parse(raw: PackagesQuery) -> Result<Self, AppError> {
        let status = clean(raw.status.clone(), 20, "status")?;
        let status = match status {
            None => None,
            Some(s) => Some(
                PackageStatus::parse(&s)
                    .ok_or_else(|| AppError::bad_request(format!("Unknown status “{s}”.")))?,
            ),
        };
        let q = clean(raw.q.clone(), 200, "A search")?.unwrap_or_default();
        let filter = PackageFilter {
            search: NameSearch::parse(&q),
            applicant: clean(raw.applicant.clone(), 40, "applicant")?.map(|s| s.to_lowercase()),
            released_by: clean(raw.released_by.clone(), 40, "released_by")?
                .map(|s| s.to_lowercase()),
            status,
            applied_from: date(&raw.applied_from, "applied_from", false)?,
            applied_to: date(&raw.applied_to, "applied_to", true)?,
            released_from: date(&raw.released_from, "released_from", false)?,
            released_to: date(&raw.released_to, "released_to", true)?,
            ..Default::default()
        };
        let paging = Paging::new(raw.page.as_deref(), raw.per_page.as_deref(), 20)?;
        Ok(PackagesView {
            raw,
            q,
            filter,
            paging,
        })
    }
    fn value<'a>(&'a self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
    /// How many filters besides the search are set (the collapsed filters say so).
    fn active_filters(&self) -> usize {
        let r = &self.raw;
        [
            &r.applicant,
            &r.released_by,
            &r.status,
            &r.applied_from,
            &r.applied_to,
            &r.released_from,
            &r.released_to,
        ]
        .into_iter()
        .filter(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
        .count()
    }
    fn page_link(&self, page: i64) -> String {
        let mut raw = self.raw.clone();
        raw.page = Some(page.to_string());
        let pairs: Vec<(&str, String)> = [
            ("q", raw.q),
            ("applicant", raw.applicant),
            ("released_by", raw.released_by),
            ("status", raw.status),
            ("applied_from", raw.applied_from),
            ("applied_to", raw.applied_to),
            ("released_from", raw.released_from),
            ("released_to", raw.released_to),
            ("per_page", raw.per_page),
            ("page", raw.page),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "task_release/packages.html", blocks = ["rows"])]
struct PackagesPage {
    layout: Layout,
    workspace: Workspace,
    view: PackagesView,
    packages: Vec<PackageRow>,
    /// Why each package on the page that stands still does.
    why: HashMap<PackageId, stopped::Why>,
    members: Vec<Person>,
}

impl PackagesPage {
    fn statuses(&self) -> &'static [PackageStatus] {
        PackageStatus::ALL
    }
    fn why_of(&self, id: &PackageId) -> Option<&stopped::Why> {
        self.why.get(id)
    }
}

/// `GET /workspaces/{ws}/task-release/packages`.
pub async fn packages(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<PackagesQuery>,
) -> Result<HttpResponse, AppError> {
    let mut view = PackagesView::parse(query.into_inner())?;
    let is_htmx = ctx.current.is_htmx;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(&state, move |conn| {
        // An htmx request swaps in the rows only (see `tasks_page`).
        let layout = Layout::build_unless_fragment(
            is_htmx,
            conn,
            &viewer,
            format!("Packages · {}", workspace.name),
            "packages",
            Some((&workspace, &access)),
        )?;
        let (packages, total) = releases::list_packages(
            conn,
            workspace.id,
            &view.filter,
            view.paging.per_page,
            view.paging.offset(),
        )?;
        view.paging.set_total(total);
        let shown: Vec<_> = packages.iter().map(|p| (p.id, p.status)).collect();
        let why = stopped::packages(conn, workspace.id, &shown)?;
        let members = if is_htmx {
            Vec::new()
        } else {
            workspaces::people(conn, workspace.id)?
        };
        Ok(PackagesPage {
            layout,
            workspace,
            view,
            packages,
            why,
            members,
        })
    })
    .await?;
    if is_htmx {
        return fragment(&page.as_rows());
    }
    render(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "task_release/package.html", blocks = ["progress"])]
struct PackagePage {
    layout: Layout,
    workspace: Workspace,
    package: PackageRow,
    tasks: Vec<PackageTaskRow>,
    /// Why a releasing package is not moving (its job waits for a retry or a worker).
    stall: Option<jobs::Stall>,
    /// Why it stands still (waiting for whom, rejected by whom, which task failed).
    why: Option<stopped::Why>,
    reviewers: Vec<ReviewerRow>,
    timeline: Vec<AuditRow>,
    can_decide: bool,
    /// Who may still be added as a reviewer, when the viewer may add one (applicant, admin).
    can_add_reviewers: bool,
    candidates: Vec<Person>,
    /// The applicant, a deployer or an admin, while the package waits.
    can_withdraw: bool,
    others: Vec<(PackageId, String)>,
    /// Each task's change against production, in the package's order (empty while polling).
    changes: Vec<TaskChange>,
    errors: FormErrors,
    comment: String,
    /// An admin's override of a freeze for this package, shown as a highlighted event.
    freeze_override: Option<freezes::Override>,
    /// A freeze holds the package (or will, once approved) and the viewer may override it.
    can_override: bool,
}

impl PackagePage {
    /// What a freeze holds, for the override form.
    fn held_text(&self) -> &'static str {
        if self.package.status() == PackageStatus::PendingApproval {
            "this package (once approved)"
        } else {
            "this package"
        }
    }
}

/// How many of a package's diffs are open when the page loads; the rest are one click away.
const OPEN_DIFFS: usize = 3;

/// One task of a package and its change against what production runs now (as on the task
/// page), for `templates/task_release/_package_changes.html`.
struct TaskChange {
    task_id: TaskId,
    name: String,
    version_number: i32,
    /// The version production runs, if the script is live.
    live: Option<i32>,
    shown: Shown,
    /// Open when the page loads (the first few diffs with changes).
    open: bool,
}

/// What the package page shows of a task's change.
enum Shown {
    Diff(TextDiff),
    /// Production runs this very version: nothing to show.
    Live,
    /// Not diffed: the texts of the diffs before it took what a page reads
    /// (`diff::PAGE_TEXT_BYTES`), or their lines what a page shows (`diff::PAGE_BUDGET`).
    TooLarge,
    PageFull,
}

/// The changes of package `package_id`'s `tasks` against production, within the page's
/// budgets: two statements (sizes, then the texts that fit) and at most
/// `diff::PAGE_TEXT_BYTES` of script text in memory, however large the package.
fn package_changes(
    conn: &mut crate::db::DbConn,
    package_id: PackageId,
    tasks: &[PackageTaskRow],
) -> Result<Vec<TaskChange>, AppError> {
    let sizes: std::collections::HashMap<TaskId, package_changes::ChangeSize> =
        package_changes::sizes(conn, package_id)?
            .into_iter()
            .map(|s| (s.task_id, s))
            .collect();
    let mut text_left = diff::PAGE_TEXT_BYTES;
    let mut wanted = Vec::new();
    for t in tasks {
        if let Some(size) = sizes.get(&t.task_id)
            && !size.is_live()
            && size.diff_bytes() <= text_left
        {
            text_left -= size.diff_bytes();
            wanted.push(t.task_id);
        }
    }
    let mut texts: std::collections::HashMap<TaskId, package_changes::ChangeTexts> =
        package_changes::contents(conn, package_id, &wanted)?
            .into_iter()
            .map(|t| (t.task_id, t))
            .collect();
    let mut budget = diff::PAGE_BUDGET;
    let mut opened = 0;
    let mut changes = Vec::with_capacity(tasks.len());
    for t in tasks {
        let size = sizes.get(&t.task_id);
        let mut live = size.and_then(|s| s.live_version_number);
        let shown = match texts.remove(&t.task_id) {
            _ if size.is_some_and(|s| s.is_live()) => Shown::Live,
            Some(_) if budget.is_spent() => Shown::PageFull,
            Some(texts) => {
                // The texts were read after the sizes: label the diff with what was diffed.
                live = texts.live_version_number;
                let d = diff::diff_within(
                    texts.live_content.as_deref().unwrap_or(""),
                    &texts.content,
                    3,
                    diff::SCRIPT_BUDGET.min(budget),
                );
                budget.spend(&d);
                Shown::Diff(d)
            }
            None => Shown::TooLarge,
        };
        let open = matches!(&shown, Shown::Diff(d) if !d.identical) && opened < OPEN_DIFFS;
        opened += usize::from(open);
        changes.push(TaskChange {
            task_id: t.task_id,
            name: t.name.clone(),
            version_number: t.version_number,
            live,
            shown,
            open,
        });
    }
    Ok(changes)
}

impl PackagePage {
    /// The page shows fewer lines of changes than this, over all its tasks (as "10,000").
    fn page_rows(&self) -> String {
        crate::routes::thousands(diff::PAGE_BUDGET.rows as i64)
    }
    /// The task page, which shows a task's change against production at its own budget.
    fn task_link(&self, task_id: &TaskId) -> String {
        crate::paths::task(&self.workspace.slug, task_id)
    }
    /// A task's whole change against production, as a unified diff (`task_diff`).
    fn task_download(&self, task_id: &TaskId) -> String {
        format!(
            "{}?against=production",
            crate::paths::task_diff(&self.workspace.slug, task_id)
        )
    }
    fn is_live(&self) -> bool {
        self.package.status() == PackageStatus::Releasing
    }
    /// Revoked, rejected or expired: nothing was released, so no progress to show.
    fn withdrawn(&self) -> bool {
        matches!(
            self.package.status(),
            PackageStatus::Revoked | PackageStatus::Rejected | PackageStatus::Expired
        )
    }
}

async fn package_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    id: PackageId,
    errors: FormErrors,
    comment: String,
    status: StatusCode,
    progress_only: bool,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let build = move |conn: &mut crate::db::DbConn| {
        let package = releases::find_package(conn, workspace.id, id)?.ok_or(AppError::NotFound)?;
        let tasks = releases::package_tasks(conn, id)?;
        // Only a releasing package has a job to wait for.
        let stall = if package.status() == PackageStatus::Releasing {
            jobs::stall(conn, jobs::RELEASE_PACKAGE, &id.to_string())?
        } else {
            None
        };
        let why = stopped::packages(conn, workspace.id, &[(id, package.status())])?.remove(&id);
        // Held by a freeze: the job waits on purpose, not for a worker.
        let stall = stall.filter(|_| !matches!(why, Some(stopped::Why::Frozen(_))));
        if progress_only {
            let layout = Layout::bare("");
            return Ok(PackagePage {
                layout,
                workspace,
                package,
                tasks,
                stall,
                why,
                reviewers: vec![],
                timeline: vec![],
                can_decide: false,
                can_add_reviewers: false,
                candidates: vec![],
                can_withdraw: false,
                others: vec![],
                changes: vec![],
                errors,
                comment,
                freeze_override: None,
                can_override: false,
            });
        }
        let layout = Layout::build(
            conn,
            &viewer,
            package.name.clone(),
            "packages",
            Some((&workspace, &access)),
        )?;
        let reviewers = releases::package_reviewers(conn, id)?;
        let me = viewer.user.id;
        let can_decide = match releases::may_decide(conn, workspace.id, &package, &reviewers, me) {
            Ok(()) => true,
            Err(AppError::Internal(e)) => return Err(AppError::Internal(e)),
            Err(_) => false,
        };
        let waiting = package.status() == PackageStatus::PendingApproval;
        let mine = package.applicant_id == me;
        let can_add_reviewers = waiting && (mine || access.can(Permission::Manage));
        let can_withdraw = waiting && (mine || access.can(Permission::Deploy));
        let candidates = if can_add_reviewers {
            let mut people = workspaces::people(conn, workspace.id)?;
            people.retain(|p| {
                p.is_reviewer()
                    && p.may_review()
                    && p.user_id != package.applicant_id
                    && !reviewers.iter().any(|r| r.reviewer_id == p.user_id)
            });
            people
        } else {
            Vec::new()
        };
        let timeline = audit::package_timeline(conn, workspace.id, id)?;
        let others = releases::packages_sharing_scripts(conn, workspace.id, id)?;
        let changes = package_changes(conn, id, &tasks)?;
        let freeze_override = freezes::package_override(conn, id)?;
        let can_override = freeze_override.is_none()
            && access.can(Permission::Manage)
            && matches!(
                package.status(),
                PackageStatus::PendingApproval | PackageStatus::Releasing
            )
            && freezes::holding_package(conn, workspace.id, id, chrono::Utc::now())?.is_some();
        Ok(PackagePage {
            layout,
            workspace,
            package,
            tasks,
            stall,
            why,
            reviewers,
            timeline,
            can_decide,
            can_add_reviewers,
            candidates,
            can_withdraw,
            others,
            changes,
            errors,
            comment,
            freeze_override,
            can_override,
        })
    };
    // The polled progress is a few small reads; the whole page diffs, which is not for the
    // inline reader (`with_read_conn`).
    let page = if progress_only {
        with_read_conn(state, build).await?
    } else {
        with_conn(state, build).await?
    };
    if progress_only {
        let mut resp = fragment(&page.as_progress())?;
        if !page.is_live() {
            // Finished: reload once so the timeline and review sections show the outcome too.
            resp.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-refresh"),
                actix_web::http::header::HeaderValue::from_static("true"),
            );
        }
        return Ok(resp);
    }
    let response = render(&page, status);
    let diffed = page
        .changes
        .iter()
        .any(|c| matches!(c.shown, Shown::Diff(_)));
    drop(page);
    if diffed {
        // As after Compare Version: the diffs' memory goes back to the system.
        actix_web::rt::task::spawn_blocking(download::return_freed_memory);
    }
    response
}

/// `GET /workspaces/{ws}/task-release/packages/{id}`.
pub async fn package(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    package_page(
        &state,
        ctx,
        id,
        FormErrors::default(),
        String::new(),
        StatusCode::OK,
        false,
    )
    .await
}

/// `GET /workspaces/{ws}/task-release/packages/{id}/progress`: the live progress fragment that
/// the details page polls while the package is releasing (polling stops when it is done).
pub async fn progress(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    package_page(
        &state,
        ctx,
        id,
        FormErrors::default(),
        String::new(),
        StatusCode::OK,
        true,
    )
    .await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

fn parse_decision(s: &str) -> Result<Decision, AppError> {
    match s {
        "approve" => Ok(Decision::Approve),
        "reject" => Ok(Decision::Reject),
        _ => Err(AppError::bad_request("decision is approve or reject.")),
    }
}

fn decided_message(d: &releases::Decided, decision: Decision) -> String {
    match (decision, d.status) {
        (Decision::Reject, _) => format!(
            "“{}” rejected; the applicant can fix and release again.",
            d.package_name
        ),
        (_, PackageStatus::PendingApproval) => format!(
            "Approved. “{}” waits for {} more.",
            d.package_name,
            crate::domain::count(d.waiting_for as i64, "approval", "approvals")
        ),
        _ => format!(
            "“{}” approved and being released to production.",
            d.package_name
        ),
    }
}

/// `POST /workspaces/{ws}/task-release/packages/{id}/decision`.
pub async fn decide(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let form = form.into_inner();
    let decision = parse_decision(&form.decision)?;
    let mut errors = FormErrors::default();
    let Some(comment) = errors.check("comment", Comment::parse(&form.comment)) else {
        return package_page(
            &state,
            ctx,
            id,
            errors,
            form.comment,
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        )
        .await;
    };
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        releases::decide(conn, actor, ws_id, id, decision, &comment)
    })
    .await;
    package_outcome(&state, ctx, id, outcome, form.comment, |d| {
        decided_message(&d, decision)
    })
    .await
}

/// A script of either of two compared packages, with its version in each (`None`: not in that
/// package).
struct ComparedScript {
    name: String,
    from: Option<(i32, i64)>,
    to: Option<(i32, i64)>,
}

impl ComparedScript {
    /// The old and new contents (empty where the package lacks the script): one pair in
    /// memory at a time.
    fn contents(&self, conn: &mut crate::db::DbConn) -> Result<(String, String), AppError> {
        let mut content = |version: Option<(i32, i64)>| -> Result<String, AppError> {
            Ok(match version {
                Some((_, id)) => scripts::version_by_id(conn, id)?.content,
                None => String::new(),
            })
        };
        Ok((content(self.from)?, content(self.to)?))
    }
}

/// Package `id` and package `other_id` of a workspace, and their scripts by name: `other`'s
/// version → `id`'s version.
fn compared(
    conn: &mut crate::db::DbConn,
    workspace_id: WorkspaceId,
    id: PackageId,
    other_id: PackageId,
) -> Result<(PackageRow, PackageRow, Vec<ComparedScript>), AppError> {
    let package = releases::find_package(conn, workspace_id, id)?.ok_or(AppError::NotFound)?;
    let other = releases::find_package(conn, workspace_id, other_id)?.ok_or(AppError::NotFound)?;
    let mine = releases::package_tasks(conn, id)?;
    let theirs = releases::package_tasks(conn, other_id)?;
    let mut names: Vec<(i64, String)> = mine
        .iter()
        .chain(theirs.iter())
        .map(|t| (t.script_id, t.name.clone()))
        .collect();
    names.sort_by(|a, b| a.1.cmp(&b.1));
    names.dedup_by_key(|n| n.0);
    let version = |tasks: &[PackageTaskRow], script_id: i64| {
        tasks
            .iter()
            .find(|t| t.script_id == script_id)
            .map(|t| (t.version_number, t.version_id))
    };
    let scripts = names
        .into_iter()
        .map(|(script_id, name)| ComparedScript {
            name,
            from: version(&theirs, script_id),
            to: version(&mine, script_id),
        })
        .collect();
    Ok((package, other, scripts))
}

/// One script's difference between two packages.
struct ScriptComparison {
    name: String,
    from: Option<i32>,
    to: Option<i32>,
    diff: TextDiff,
}

#[derive(Template)]
#[template(path = "task_release/compare.html")]
struct ComparePage {
    layout: Layout,
    workspace: Workspace,
    package: PackageRow,
    other: PackageRow,
    /// The scripts shown, in name order, until the page's budget ran out.
    scripts: Vec<ScriptComparison>,
    /// Scripts after those, left out because the page's budget was spent.
    not_shown: usize,
    /// The address of the whole comparison as a unified diff.
    full: String,
}

impl ComparePage {
    fn total(&self) -> usize {
        self.scripts.len() + self.not_shown
    }
    /// The most lines a page shows, as "10,000".
    fn page_rows(&self) -> String {
        crate::routes::thousands(diff::PAGE_BUDGET.rows as i64)
    }
    /// Something is left out: a script's lines or whole scripts.
    fn cut(&self) -> bool {
        self.not_shown > 0 || self.scripts.iter().any(|s| s.diff.truncated)
    }
}

#[derive(Deserialize)]
pub struct CompareQuery {
    with: Option<PackageId>,
}

/// `POST /workspaces/{ws}/task-release/packages/{id}/reviewers`: the applicant or an admin adds
/// reviewers to a package that waits for approval.
pub async fn add_reviewers(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
    form: Form<ReviewersForm>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let reviewers = form.into_inner().reviewers;
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        releases::add_reviewers(conn, actor, ws_id, id, &reviewers)
    })
    .await;
    package_outcome(&state, ctx, id, outcome, String::new(), |added| {
        format!(
            "{} added as {}; the package waits for their review.",
            added.join(", "),
            if added.len() == 1 {
                "reviewer"
            } else {
                "reviewers"
            }
        )
    })
    .await
}

/// `POST /workspaces/{ws}/task-release/packages/{id}/withdraw`: the applicant (or a deployer or
/// admin) takes a waiting package back; its tasks return to pending.
pub async fn withdraw(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        releases::withdraw_package(conn, actor, ws_id, id)
    })
    .await;
    package_outcome(&state, ctx, id, outcome, String::new(), |(name, n)| {
        format!(
            "“{name}” withdrawn: {} back to pending, to be released again.",
            crate::domain::count(n as i64, "task", "tasks")
        )
    })
    .await
}

/// The answer to a change on the package page: back to it with a message, or the page again
/// with the refusal (422 beside the field, 409 when the package moved on).
async fn package_outcome<T>(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    id: PackageId,
    outcome: Result<T, AppError>,
    comment: String,
    success: impl FnOnce(T) -> String,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Ok(value) => {
            session::flash(&ctx.current.session, FlashKind::Ok, success(value));
            Ok(see_other(&crate::paths::package(&ctx.workspace.slug, id)))
        }
        Err(AppError::Field { field, message }) => {
            let mut errors = FormErrors::default();
            errors.add(field, message);
            package_page(
                state,
                ctx,
                id,
                errors,
                comment,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            session::flash(&ctx.current.session, FlashKind::Error, message.clone());
            let page = package_page(
                state,
                ctx,
                id,
                FormErrors::default(),
                String::new(),
                StatusCode::CONFLICT,
                false,
            )
            .await?;
            Ok(refusal(page, message))
        }
        Err(e) => Err(e),
    }
}

/// `GET /workspaces/{ws}/task-release/packages/{id}/compare?with={other}`: script by script, the
/// other package's version → this package's version, within `diff::PAGE_BUDGET`; what is left
/// out is counted and the whole comparison is a download (`compare_diff`).
pub async fn compare(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
    query: web::Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let other_id = query
        .with
        .ok_or_else(|| AppError::bad_request("Choose a package to compare with."))?;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_conn(&state, move |conn| {
        let (package, other, compared) = compared(conn, workspace.id, id, other_id)?;
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Compare {} with {}", package.name, other.name),
            "packages",
            Some((&workspace, &access)),
        )?;
        let mut budget = diff::PAGE_BUDGET;
        let mut scripts = Vec::new();
        let mut not_shown = 0;
        for script in compared {
            if budget.is_spent() {
                // Not even read: the page says how many and links to the download.
                not_shown += 1;
                continue;
            }
            let (old, new) = script.contents(conn)?;
            let diff = diff::diff_within(&old, &new, 3, diff::SCRIPT_BUDGET.min(budget));
            budget.spend(&diff);
            scripts.push(ScriptComparison {
                name: script.name,
                from: script.from.map(|(n, _)| n),
                to: script.to.map(|(n, _)| n),
                diff,
            });
        }
        let full = format!(
            "{}?with={other_id}",
            crate::paths::package_compare_diff(&workspace.slug, id)
        );
        Ok(ComparePage {
            layout,
            workspace,
            package,
            other,
            scripts,
            not_shown,
            full,
        })
    })
    .await?;
    let response = render(&page, StatusCode::OK);
    drop(page);
    actix_web::rt::task::spawn_blocking(download::return_freed_memory);
    response
}

/// `GET /workspaces/{ws}/task-release/packages/{id}/compare.diff?with={other}`: the whole
/// comparison as a unified diff, streamed one script at a time (one pair of contents in memory).
pub async fn compare_diff(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
    query: web::Query<CompareQuery>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let other_id = query
        .with
        .ok_or_else(|| AppError::bad_request("Choose a package to compare with."))?;
    let ws_id = ctx.workspace.id;
    let (package, other, compared) =
        with_conn(&state, move |conn| compared(conn, ws_id, id, other_id)).await?;
    let (old_name, new_name) = (other.name, package.name);
    Ok(download::respond(
        download::diff_file(&format!("compare-{other_id}-{id}.diff")),
        &req,
        &state,
        "package comparison",
        std::collections::VecDeque::from(compared),
        move |conn, mut rest| {
            let Some(script) = rest.pop_front() else {
                return Ok(None);
            };
            let (old, new) = script.contents(conn)?;
            let (a, b) = download::diff_labels(
                &script.name,
                script.from.map(|(n, _)| format!("v{n} in {old_name}")),
                script.to.map(|(n, _)| format!("v{n} in {new_name}")),
            );
            Ok(Some((diff::unified(&old, &new, &a, &b).into_bytes(), rest)))
        },
    ))
}

#[derive(Template)]
#[template(path = "task_release/production.html")]
struct ProductionPage {
    layout: Layout,
    workspace: Workspace,
    live: Vec<LiveScript>,
    /// The script path search, as typed.
    q: String,
    paging: Paging,
}

impl ProductionPage {
    fn page_link(&self, page: i64) -> String {
        let mut q: Vec<(&str, String)> = Vec::new();
        if !self.q.is_empty() {
            q.push(("q", self.q.clone()));
        }
        q.push(("page", page.to_string()));
        if self.paging.per_page != 50 {
            q.push(("per_page", self.paging.per_page.to_string()));
        }
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
}

/// Query string of the Production page.
#[derive(Debug, Deserialize)]
pub struct ProductionQuery {
    q: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// `GET /workspaces/{ws}/production`.
pub async fn production_page(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<ProductionQuery>,
) -> Result<HttpResponse, AppError> {
    let mut paging = Paging::new(query.page.as_deref(), query.per_page.as_deref(), 50)?;
    let q = clean(query.q.clone(), 200, "A search")?.unwrap_or_default();
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(&state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Production · {}", workspace.name),
            "production",
            Some((&workspace, &access)),
        )?;
        let search = NameSearch::parse(&q);
        let (live, total) = production::list(
            conn,
            workspace.id,
            search.as_ref(),
            paging.per_page,
            paging.offset(),
        )?;
        paging.set_total(total);
        Ok(ProductionPage {
            layout,
            workspace,
            live,
            q,
            paging,
        })
    })
    .await?;
    render(&page, StatusCode::OK)
}
