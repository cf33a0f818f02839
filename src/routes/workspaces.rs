//! `/workspaces`: my workspaces (a tenant administrator sees and creates all), the switcher,
//! a workspace's overview and its audit log.

use crate::domain::WorkspaceId;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CurrentUser, WorkspaceCtx, session};
use crate::db::models::attention::{
    self, Capped, Failed, FailedList, Stuck, StuckLists, WaitingCheckpoint, WaitingPackage,
};
use crate::db::models::audit::{self, AuditFilter, AuditRow};
use crate::db::models::workspaces::{self, Member, Workspace, WorkspaceSummary};
use crate::domain::{Description, Permission, WorkspaceAccess, WorkspaceName, WorkspaceSlug};
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, Paging, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

/// `GET /`: signed-in people go to their workspaces, everyone else to sign-in.
pub async fn home(session: Session) -> HttpResponse {
    if session::identity(&session).is_some() {
        see_other(crate::paths::workspaces())
    } else {
        see_other(crate::paths::login())
    }
}

#[derive(Default, Deserialize)]
pub struct CreateWorkspaceForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Template)]
#[template(path = "workspaces/index.html")]
struct WorkspacesPage {
    layout: Layout,
    workspaces: Vec<WorkspaceSummary>,
    can_create: bool,
    form: CreateWorkspaceForm,
    errors: FormErrors,
}

async fn workspaces_page(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    form: CreateWorkspaceForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(current);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(conn, &viewer, "Workspaces", "workspaces", None)?;
        let workspaces = workspaces::list_for_user(conn, &viewer.user)?;
        Ok(WorkspacesPage {
            layout,
            workspaces,
            can_create: viewer.user.is_tenant_admin,
            form,
            errors,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces`.
pub async fn index(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    workspaces_page(
        &state,
        &current,
        CreateWorkspaceForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /workspaces` (tenant administrators).
pub async fn create(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: web::Form<CreateWorkspaceForm>,
) -> Result<HttpResponse, AppError> {
    if !current.user.is_tenant_admin {
        return Err(AppError::forbidden(
            "Only tenant administrators can create workspaces.",
        ));
    }
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let slug = errors.check("slug", WorkspaceSlug::parse(&form.slug));
    let name = errors.check("name", WorkspaceName::parse(&form.name));
    let description = errors.check("description", Description::parse(&form.description));
    let (Some(slug), Some(name), Some(description), true) =
        (slug, name, description, errors.is_empty())
    else {
        return workspaces_page(
            &state,
            &current,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let actor = current.user.id;
    let created = with_conn(&state, move |conn| {
        workspaces::create(conn, Some(actor), &slug, &name, &description, None)
    })
    .await;
    match created {
        Ok(ws) => {
            session::flash(
                &current.session,
                session::FlashKind::Ok,
                format!("Workspace “{}” created. Add its members here.", ws.name),
            );
            Ok(see_other(&crate::paths::settings(&ws.slug)))
        }
        Err(AppError::Field { field, message }) => {
            let mut errors = FormErrors::default();
            errors.add(field, message);
            workspaces_page(
                &state,
                &current,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    #[serde(default)]
    ws: String,
}

/// `GET /workspaces/switch?ws=slug`: the switcher's plain-form target.
pub async fn switch(
    _current: CurrentUser,
    query: web::Query<SwitchQuery>,
) -> Result<HttpResponse, AppError> {
    let slug = WorkspaceSlug::parse(&query.ws).map_err(|_| AppError::NotFound)?;
    Ok(see_other(&crate::paths::workspace(slug.as_str())))
}

#[derive(Template)]
#[template(path = "workspaces/overview.html")]
struct OverviewPage {
    layout: Layout,
    workspace: Workspace,
    access: WorkspaceAccess,
    members: Vec<Member>,
    recent: Vec<AuditRow>,
    /// "Needs your attention": empty for viewers, who only see what failed.
    waiting_packages: Capped<WaitingPackage>,
    waiting_checkpoints: Capped<WaitingCheckpoint>,
    stuck: StuckLists,
    failed: FailedList,
    /// The viewer's username, for the "see all" links of their own items.
    me: String,
    now: chrono::NaiveDateTime,
    /// Freeze windows that open in the next 14 days.
    upcoming_freezes: Vec<crate::db::models::freezes::ActiveFreeze>,
}

impl OverviewPage {
    fn age(&self, since: &chrono::NaiveDateTime) -> String {
        attention::age(*since, self.now)
    }
    fn nothing_waits(&self) -> bool {
        self.waiting_packages.is_empty() && self.waiting_checkpoints.is_empty()
    }
    /// Query string of a "see all" link, the value URL-encoded.
    fn query(&self, key: &str, value: &str) -> String {
        serde_urlencoded::to_string([(key, value)]).unwrap_or_default()
    }
    fn can(&self, what: &str) -> bool {
        let permission = match what {
            "develop" => Permission::Develop,
            "deploy" => Permission::Deploy,
            "manage" => Permission::Manage,
            _ => Permission::View,
        };
        self.access.can(permission)
    }
    fn reviewers(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.is_reviewer())
    }
}

/// `GET /workspaces/{ws}`.
pub async fn overview(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(&state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            workspace.name.clone(),
            "overview",
            Some((&workspace, &access)),
        )?;
        let members = workspaces::members(conn, workspace.id)?;
        let (recent, _) = audit::list(conn, Some(workspace.id), &AuditFilter::default(), 8, 0)?;
        let me = viewer.user.id;
        let now = crate::db::now();
        // Viewers have nothing to review or release: only what failed concerns them.
        let (waiting_packages, waiting_checkpoints, stuck) = if access.can(Permission::Develop) {
            let (packages, checkpoints) =
                attention::waiting(conn, workspace.id, me, access.may_review())?;
            (
                packages,
                checkpoints,
                attention::stuck(conn, workspace.id, me)?,
            )
        } else {
            (Capped::empty(), Capped::empty(), StuckLists::empty())
        };
        let failed = attention::failed_recently(conn, workspace.id, now)?;
        let upcoming_freezes =
            crate::db::models::freezes::upcoming(conn, workspace.id, chrono::Utc::now(), 14, 5)?;
        Ok(OverviewPage {
            layout,
            workspace,
            access,
            members,
            recent,
            waiting_packages,
            waiting_checkpoints,
            stuck,
            failed,
            me: viewer.user.username.clone(),
            now,
            upcoming_freezes,
        })
    })
    .await?;
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

#[derive(Template)]
#[template(path = "workspaces/audit.html", blocks = ["rows"])]
struct AuditPage {
    layout: Layout,
    workspace: Workspace,
    rows: Vec<AuditRow>,
    action: String,
    actor: String,
    paging: Paging,
}

impl AuditPage {
    /// The current filters, for the CSV link.
    fn csv_query(&self) -> String {
        let q: Vec<(&str, &str)> = [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
    /// The query string for another page of the same filters.
    fn page_query(&self, page: i64) -> String {
        let mut q = vec![("page", page.to_string())];
        if !self.action.is_empty() {
            q.push(("action", self.action.clone()));
        }
        if !self.actor.is_empty() {
            q.push(("actor", self.actor.clone()));
        }
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
}

/// The audit log's filters from the query: trimmed, the actor lowercased, at most 100
/// characters and no control characters (PostgreSQL refuses a NUL in text).
fn audit_filter(query: AuditQuery) -> Result<AuditFilter, AppError> {
    audit_filter_of(query.action, query.actor)
}

/// `audit_filter` of the two values (the API's audit list asks it too).
pub(crate) fn audit_filter_of(
    action: Option<String>,
    actor: Option<String>,
) -> Result<AuditFilter, AppError> {
    let clean = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let action = clean(action);
    let actor = clean(actor).map(|a| a.to_lowercase());
    for value in [&action, &actor].into_iter().flatten() {
        if value.chars().count() > 100 {
            return Err(AppError::bad_request(
                "Filters have at most 100 characters.",
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                "Filters cannot contain control characters.",
            ));
        }
    }
    Ok(AuditFilter { action, actor })
}

/// `GET /workspaces/{ws}/audit`: filterable by action prefix and actor; htmx swaps the rows.
pub async fn audit(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut paging = Paging::new(query.page.as_deref(), query.per_page.as_deref(), 50)?;
    let AuditFilter { action, actor } = audit_filter(query)?;
    let is_htmx = ctx.current.is_htmx;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(&state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Audit log · {}", workspace.name),
            "audit",
            Some((&workspace, &access)),
        )?;
        let filter = AuditFilter {
            action: action.clone(),
            actor: actor.clone(),
        };
        let (rows, total) = audit::list(
            conn,
            Some(workspace.id),
            &filter,
            paging.per_page,
            paging.offset(),
        )?;
        paging.set_total(total);
        Ok(AuditPage {
            layout,
            workspace,
            rows,
            action: action.unwrap_or_default(),
            actor: actor.unwrap_or_default(),
            paging,
        })
    })
    .await?;
    if is_htmx {
        let html = page.as_rows().render().map_err(AppError::internal)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html));
    }
    render(&page, StatusCode::OK)
}

/// A cell as written to the CSV: a leading `= + - @` (or tab/CR) defused with an apostrophe
/// so a spreadsheet never runs it as a formula (the `csv` crate quotes, it does not defuse).
fn defused(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// The CSV's first line.
const CSV_HEADER: &str = "time_utc,actor,action,target_type,target,comment\n";

/// Where an audit CSV download is: before its header, after a row, or past the last row.
enum CsvAt {
    Start,
    After(audit::AuditKey),
    End,
}

/// The next page of the CSV: the header first, then [`audit::DOWNLOAD_PAGE_ROWS`] rows at a
/// time, newest first.
fn csv_page(
    conn: &mut crate::db::DbConn,
    workspace_id: WorkspaceId,
    filter: &AuditFilter,
    at: CsvAt,
) -> Result<Option<(Vec<u8>, CsvAt)>, AppError> {
    let (header, after) = match at {
        CsvAt::End => return Ok(None),
        CsvAt::Start => (CSV_HEADER, None),
        CsvAt::After(key) => ("", Some(key)),
    };
    let rows = audit::page_after(
        conn,
        Some(workspace_id),
        filter,
        after,
        audit::DOWNLOAD_PAGE_ROWS,
    )?;
    let next = match rows.last() {
        Some(last) if rows.len() as i64 == audit::DOWNLOAD_PAGE_ROWS => CsvAt::After(last.key()),
        _ => CsvAt::End,
    };
    // Every field quoted, so a cell's type never depends on its content.
    let mut out = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(header.as_bytes().to_vec());
    for r in rows {
        let time = r.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let actor = r.actor.unwrap_or_else(|| "system".into());
        let fields = [
            &time,
            &actor,
            &r.action,
            &r.target_type,
            &r.target_label,
            &r.comment,
        ];
        out.write_record(fields.map(|f| defused(f)).iter().map(|f| f.as_bytes()))
            .map_err(AppError::internal)?;
    }
    let out = out.into_inner().map_err(AppError::internal)?;
    Ok(Some((out, next)))
}

/// `GET /workspaces/{ws}/audit.csv`: the filtered audit log as CSV (newest first), streamed a
/// page at a time. Every matching row is in it: memory stays one page however long the log is,
/// so the cap of 100,000 rows that guarded memory when the CSV was built whole is gone (a cut
/// audit export would also be one that silently misses rows).
pub async fn audit_csv(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<AuditQuery>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let filter = audit_filter(query.into_inner())?;
    let (ws_id, slug) = (ctx.workspace.id, ctx.workspace.slug.clone());
    let mut builder = HttpResponse::Ok();
    builder
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{slug}-audit.csv\""),
        ));
    Ok(crate::routes::download::respond(
        builder,
        &req,
        &state,
        "audit csv",
        CsvAt::Start,
        move |conn, at| csv_page(conn, ws_id, &filter, at),
    ))
}

#[cfg(test)]
mod tests {
    use super::defused;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defused("plain"), "plain");
        assert_eq!(defused("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(defused("-2"), "'-2");
        assert_eq!(defused("a=b"), "a=b");
    }
}
