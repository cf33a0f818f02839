//! `/workspaces/{ws}/scripts`: the development environment — the script list, the editor (draft,
//! type, schedule, description), submitting a version, version history and diffs between any two
//! versions.

use crate::domain::UserId;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::models::bundle::{self, ReleasedRoute};
use crate::db::models::scripts::{self, Script, ScriptDraft, ScriptRow, VersionRow};
use crate::db::models::workspaces::{self, Person};
use crate::db::models::{production, workspaces::Workspace};
use crate::diff::{TextDiff, diff_texts};
use crate::domain::limits::MAX_SCRIPT_BYTES;
use crate::domain::{
    Description, Permission, ScriptPath, ScriptType, WorkspaceMode, validate_schedule,
};
use crate::error::AppError;
use crate::filters;
use crate::routes::form::Form;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, Paging, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

#[derive(Debug, Default, Deserialize)]
pub struct ScriptForm {
    #[serde(default)]
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) script_type: String,
    #[serde(default)]
    pub(crate) schedule: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) content: String,
}

impl ScriptForm {
    fn of(script: &Script) -> Self {
        ScriptForm {
            path: script.path.clone(),
            script_type: script.script_type.as_str().into(),
            schedule: script.schedule.clone(),
            description: script.description.clone(),
            content: script.draft_content.clone(),
        }
    }

    /// The draft fields, or the messages per field. Keeps the raw input for re-rendering.
    pub(crate) fn draft(&self, errors: &mut FormErrors) -> Option<ScriptDraft> {
        let script_type = ScriptType::parse(&self.script_type);
        if script_type.is_none() {
            errors.add("script_type", "Choose the script's type.");
        }
        let schedule = errors.check("schedule", validate_schedule(&self.schedule));
        let description = errors.check("description", Description::parse(&self.description));
        if self.content.len() > MAX_SCRIPT_BYTES {
            errors.add("content", "A script has at most 1 MiB.");
        }
        Some(ScriptDraft {
            script_type: script_type?,
            schedule: schedule?,
            description: description?,
            content: self.content.replace("\r\n", "\n"),
        })
        .filter(|_| errors.is_empty())
    }
}

#[derive(Template)]
#[template(path = "scripts/index.html")]
struct ScriptsPage {
    layout: Layout,
    workspace: Workspace,
    scripts: Vec<ScriptRow>,
    q: String,
    paging: Paging,
    can_develop: bool,
    can_manage: bool,
    form: ScriptForm,
    errors: FormErrors,
}

impl ScriptsPage {
    fn types(&self) -> &'static [ScriptType] {
        ScriptType::ALL
    }
    /// The query string for another page of the same search.
    fn page_link(&self, page: i64) -> String {
        let mut pairs = vec![("page", page.to_string())];
        if !self.q.is_empty() {
            pairs.insert(0, ("q", self.q.clone()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

async fn scripts_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    q: String,
    mut paging: Paging,
    form: ScriptForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let can_develop = ctx.access.can(Permission::Develop);
    let can_manage = ctx.access.can(Permission::Manage);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Scripts · {}", workspace.name),
            "scripts",
            Some((&workspace, &access)),
        )?;
        // The same fuzzy matching as the Tasks tab: words in any order, a typo tolerated.
        let search = crate::search::NameSearch::parse(&q);
        let (scripts, total) = scripts::page(
            conn,
            workspace.id,
            search.as_ref(),
            paging.per_page,
            paging.offset(),
        )?;
        paging.set_total(total);
        Ok(ScriptsPage {
            layout,
            workspace,
            scripts,
            q,
            paging,
            can_develop,
            can_manage,
            form,
            errors,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/scripts?q=`.
pub async fn index(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let paging = Paging::new(query.page.as_deref(), query.per_page.as_deref(), 50)?;
    let q = query.q.unwrap_or_default().trim().to_owned();
    if q.chars().count() > 200 {
        return Err(AppError::bad_request(
            "A search has at most 200 characters.",
        ));
    }
    let form = ScriptForm {
        script_type: ScriptType::Sql.as_str().into(),
        ..Default::default()
    };
    scripts_page(
        &state,
        ctx,
        q,
        paging,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /workspaces/{ws}/scripts`: create a script.
pub async fn create(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: web::Form<ScriptForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let path = errors.check("path", ScriptPath::parse(&form.path));
    let draft = form.draft(&mut errors);
    let (Some(path), Some(draft)) = (path, draft) else {
        return scripts_page(
            &state,
            ctx,
            String::new(),
            Paging::new(None, None, 50)?,
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    match with_conn(&state, move |conn| {
        scripts::create(conn, actor, ws_id, &path, &draft)
    })
    .await
    {
        Ok(script) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!(
                    "{} created. Submit a version when it is ready.",
                    script.path
                ),
            );
            Ok(see_other(&crate::paths::script(&slug, script.id)))
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            scripts_page(
                &state,
                ctx,
                String::new(),
                Paging::new(None, None, 50)?,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "scripts/edit.html")]
struct EditorPage {
    layout: Layout,
    workspace: Workspace,
    script: Script,
    form: ScriptForm,
    errors: FormErrors,
    message: String,
    versions: Vec<VersionRow>,
    live_version: Option<i32>,
    can_develop: bool,
    simple_mode: bool,
    compare: Option<Compare>,
    /// The saved draft differs from the latest version (there is something to submit).
    draft_changed: bool,
    /// The form holds edits that are not saved (it is re-rendered with the user's input).
    unsaved: bool,
}

/// A diff between two versions (or a version and the draft) shown under the history.
struct Compare {
    from_label: String,
    to_label: String,
    diff: TextDiff,
    side: bool,
}

impl EditorPage {
    fn types(&self) -> &'static [ScriptType] {
        ScriptType::ALL
    }
}

#[derive(Deserialize)]
pub struct CompareQuery {
    from: Option<String>,
    to: Option<String>,
    view: Option<String>,
}

/// A side of a comparison: a version number, or the draft.
fn parse_side(raw: Option<&str>) -> Result<Option<Option<i32>>, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some("draft") => Ok(Some(None)),
        Some(v) => v
            .trim_start_matches('v')
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| Some(Some(n)))
            .ok_or_else(|| {
                AppError::bad_request("from and to are version numbers (1, 2, …) or `draft`.")
            }),
    }
}

#[allow(clippy::too_many_arguments)]
async fn editor_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    script_id: i64,
    form: Option<ScriptForm>,
    errors: FormErrors,
    message: String,
    compare: (Option<Option<i32>>, Option<Option<i32>>, bool),
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let can_develop = ctx.access.can(Permission::Develop);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_conn(state, move |conn| {
        let script = scripts::find(conn, workspace.id, script_id)?.ok_or(AppError::NotFound)?;
        let layout = Layout::build(
            conn,
            &viewer,
            script.path.clone(),
            "scripts",
            Some((&workspace, &access)),
        )?;
        let versions = scripts::versions(conn, script.id)?;
        let live_version = production::live_version(conn, script.id)?.map(|(n, ..)| n);
        let content_of = |conn: &mut crate::db::DbConn,
                          side: Option<i32>|
         -> Result<(String, String), AppError> {
            match side {
                None => Ok(("draft".to_owned(), script.draft_content.clone())),
                Some(n) => {
                    let v = scripts::version(conn, script.id, n)?.ok_or_else(|| {
                        AppError::bad_request(format!("{} has no v{n}.", script.path))
                    })?;
                    Ok((format!("v{n}"), v.content))
                }
            }
        };
        let compare = match compare {
            (Some(from), Some(to), side) => {
                let (from_label, old) = content_of(conn, from)?;
                let (to_label, new) = content_of(conn, to)?;
                Some(Compare {
                    from_label,
                    to_label,
                    diff: diff_texts(&old, &new, 3),
                    side,
                })
            }
            (None, None, _) => None,
            _ => return Err(AppError::bad_request("Choose both versions to compare.")),
        };
        let simple_mode = workspace.mode() == WorkspaceMode::Simple;
        let draft_changed = match scripts::version(conn, script.id, script.latest_version)? {
            Some(v) => {
                v.content != script.draft_content
                    || v.script_type != script.script_type
                    || v.schedule != script.schedule
            }
            None => true,
        };
        let saved = ScriptForm::of(&script);
        let unsaved = form.as_ref().is_some_and(|f| {
            f.content.replace("\r\n", "\n") != saved.content
                || f.script_type != saved.script_type
                || f.schedule != saved.schedule
                || f.description != saved.description
        });
        Ok(EditorPage {
            layout,
            unsaved,
            form: form.unwrap_or(saved),
            workspace,
            script,
            errors,
            message,
            versions,
            live_version,
            can_develop,
            simple_mode,
            compare,
            draft_changed,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/scripts/{id}?from=&to=&view=side`.
pub async fn edit(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    query: web::Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let from = parse_side(query.from.as_deref())?;
    let to = parse_side(query.to.as_deref())?;
    let side = query.view.as_deref() == Some("side");
    editor_page(
        &state,
        ctx,
        id,
        None,
        FormErrors::default(),
        String::new(),
        (from, to, side),
        StatusCode::OK,
    )
    .await
}

/// `POST /workspaces/{ws}/scripts/{id}`: save the draft.
pub async fn save(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<ScriptForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let (_, id) = path.into_inner();
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(draft) = form.draft(&mut errors) else {
        return editor_page(
            &state,
            ctx,
            id,
            Some(form),
            errors,
            String::new(),
            (None, None, false),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let script = with_conn(&state, move |conn| {
        scripts::save_draft(conn, actor, ws_id, id, &draft)
    })
    .await?;
    session::flash(
        &ctx.current.session,
        FlashKind::Ok,
        format!("Draft of {} saved.", script.path),
    );
    Ok(see_other(&crate::paths::script(&slug, id)))
}

#[derive(Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    message: String,
    /// The editor's fields: its Submit button posts the draft form, so what is submitted is
    /// what the editor holds, unsaved edits included. Without `content` (an older form, a
    /// script), the saved draft is submitted.
    script_type: Option<String>,
    schedule: Option<String>,
    description: Option<String>,
    content: Option<String>,
}

impl SubmitForm {
    /// The editor's fields, when they were posted.
    fn editor(&mut self) -> Option<ScriptForm> {
        let content = self.content.take()?;
        Some(ScriptForm {
            path: String::new(),
            script_type: self.script_type.take().unwrap_or_default(),
            schedule: self.schedule.take().unwrap_or_default(),
            description: self.description.take().unwrap_or_default(),
            content,
        })
    }
}

/// A version's message: needed, and at most 500 characters.
pub(crate) fn check_message(message: &str, errors: &mut FormErrors) {
    if message.trim().is_empty() {
        errors.add("message", "Describe the change in a few words.");
    } else if message.chars().count() > 500 {
        errors.add("message", "A message has at most 500 characters.");
    }
}

/// `POST /workspaces/{ws}/scripts/{id}/submit`: the draft becomes the next version — the
/// editor's content as posted (saved in the same transaction), or the saved draft.
pub async fn submit(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<SubmitForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let (_, id) = path.into_inner();
    let mut form = form.into_inner();
    let editor = form.editor();
    let message = form.message;
    let mut errors = FormErrors::default();
    check_message(&message, &mut errors);
    let draft = editor.as_ref().and_then(|f| f.draft(&mut errors));
    if !errors.is_empty() {
        return editor_page(
            &state,
            ctx,
            id,
            editor,
            errors,
            message,
            (None, None, false),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let msg = message.clone();
    match with_conn(&state, move |conn| match draft {
        Some(draft) => scripts::submit_edited(conn, actor, ws_id, id, &draft, &msg),
        None => scripts::submit_version(conn, actor, ws_id, id, &msg),
    })
    .await
    {
        Ok(done) => {
            let v = done.version.number;
            let mut text = if done.live {
                format!("v{v} submitted and live in production (simple mode).")
            } else if let Some(task) = done.task_id {
                format!("v{v} submitted: release task #{task} is ready to release.")
            } else {
                format!(
                    "v{v} submitted. Production already runs the same content, so no release task was created."
                )
            };
            if done.superseded > 0 {
                text.push_str(&format!(
                    " {} older unreleased task(s) were superseded.",
                    done.superseded
                ));
            }
            session::flash(&ctx.current.session, FlashKind::Ok, text);
            Ok(see_other(&crate::paths::script(&slug, id)))
        }
        Err(AppError::Field { field, message: m }) => {
            errors.add(field, m);
            editor_page(
                &state,
                ctx,
                id,
                editor,
                errors,
                message,
                (None, None, false),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            // Someone submitted first: 409 with the editor, keeping its unsaved text if any.
            errors.add("message", m);
            editor_page(
                &state,
                ctx,
                id,
                editor,
                errors,
                message,
                (None, None, false),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "scripts/import.html")]
struct ImportPage {
    layout: Layout,
    workspace: Workspace,
    form: ImportForm,
    errors: FormErrors,
    /// The importer's `released` entries need review (`bundle::ReleasedRoute::Review`).
    needs_review: bool,
    /// The reviewers the importer may choose: the workspace's eligible ones, never themselves.
    reviewers: Vec<Person>,
}

impl ImportPage {
    fn is_reviewer_chosen(&self, id: &UserId) -> bool {
        self.form.reviewers.contains(id)
    }
}

async fn import_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: ImportForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Import scripts · {}", workspace.name),
            "scripts",
            Some((&workspace, &access)),
        )?;
        let route = ReleasedRoute::of(workspace.mode(), workspace.approval_policy(), &access);
        let needs_review = route == ReleasedRoute::Review;
        let reviewers = if needs_review {
            workspaces::people(conn, workspace.id)?
                .into_iter()
                .filter(|m| m.is_reviewer() && m.may_review() && m.user_id != viewer.user.id)
                .collect()
        } else {
            Vec::new()
        };
        Ok(ImportPage {
            layout,
            workspace,
            form,
            errors,
            needs_review,
            reviewers,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/scripts/import` (workspace admins).
pub async fn import_form(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
) -> Result<HttpResponse, AppError> {
    import_page(
        &state,
        ctx,
        ImportForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// The import form: the bundle text and the chosen reviewers (a repeated field), kept for
/// re-rendering with a message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportForm {
    bundle: String,
    reviewers: Vec<UserId>,
}

/// `POST /workspaces/{ws}/scripts/import`: all or nothing; a bad bundle is refused whole with
/// the first bad entry named. When the importer's releases need approval, the `released`
/// entries that change production wait in one package for the chosen reviewers, and the
/// importer is sent to it.
pub async fn import(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: Form<ImportForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let form = form.into_inner();
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let (json, reviewers) = (form.bundle.clone(), form.reviewers.clone());
    match with_conn(&state, move |conn| {
        bundle::import(conn, actor, ws_id, &json, &reviewers)
    })
    .await
    {
        Ok(done) => {
            let summary = import_summary(&done);
            match done.package {
                Some(package) => {
                    session::flash(&ctx.current.session, FlashKind::Ok, summary);
                    Ok(see_other(&crate::paths::package(&slug, package.package_id)))
                }
                None => {
                    session::flash(&ctx.current.session, FlashKind::Ok, summary);
                    Ok(see_other(&crate::paths::scripts(&slug)))
                }
            }
        }
        Err(AppError::Field { field, message }) => {
            // The data layer names the reviewers' picker; any other field is the bundle's.
            let field = if field == "reviewers" {
                "reviewers"
            } else {
                "bundle"
            };
            refused(&state, ctx, form, field, message).await
        }
        Err(AppError::Conflict(message) | AppError::BadRequest(message)) => {
            refused(&state, ctx, form, "bundle", message).await
        }
        Err(e) => Err(e),
    }
}

/// What an import did, in words: only the counts that are not zero, each with its plural.
fn import_summary(done: &bundle::Imported) -> String {
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let mut parts = Vec::new();
    if done.tasks > 0 {
        parts.push(format!(
            "{} created",
            n(done.tasks, "release task", "release tasks")
        ));
    }
    if done.released > 0 {
        parts.push(format!(
            "{} released to production",
            n(done.released, "script", "scripts")
        ));
    }
    if let Some(package) = &done.package {
        parts.push(format!(
            "{} waiting for review in package “{}”",
            n(done.for_review, "script", "scripts"),
            package.name
        ));
    }
    if done.unchanged > 0 {
        parts.push(format!(
            "{} unchanged",
            n(done.unchanged, "script", "scripts")
        ));
    }
    if parts.is_empty() {
        "Imported: nothing changed.".to_owned()
    } else {
        format!("Imported: {}.", parts.join(", "))
    }
}

/// The import form again, with the input kept and why nothing was imported.
async fn refused(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: ImportForm,
    field: &'static str,
    message: String,
) -> Result<HttpResponse, AppError> {
    let mut errors = FormErrors::default();
    errors.add(field, format!("Nothing was imported. {message}"));
    import_page(state, ctx, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `GET /workspaces/{ws}/scripts/export`: the workspace's scripts as a bundle to download,
/// streamed a page of scripts at a time (`bundle::Export`), so the server's memory does not
/// grow with the workspace.
pub async fn export(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    req: actix_web::HttpRequest,
) -> HttpResponse {
    let (ws_id, slug) = (ctx.workspace.id, ctx.workspace.slug.clone());
    let mut builder = HttpResponse::Ok();
    builder.content_type("application/json").insert_header((
        "Content-Disposition",
        format!("attachment; filename=\"{slug}-scripts.json\""),
    ));
    crate::routes::download::respond(
        builder,
        &req,
        &state,
        "scripts export",
        crate::db::models::bundle::Export::new(ws_id),
        |conn, mut export| Ok(export.next_page(conn)?.map(|page| (page, export))),
    )
}

impl EditorPage {
    /// Where the comparison `c` is downloaded whole (`version_diff`).
    fn diff_download(&self, c: &Compare) -> String {
        let query = serde_urlencoded::to_string([
            ("from", c.from_label.trim_start_matches('v')),
            ("to", c.to_label.trim_start_matches('v')),
        ])
        .unwrap_or_default();
        format!(
            "{}?{query}",
            crate::paths::script_diff(&self.workspace.slug, self.script.id)
        )
    }
}

/// `GET /workspaces/{ws}/scripts/{id}/diff?from=&to=`: the editor's comparison of two versions
/// (or a version and the draft) as a unified diff, whole (one pair of contents in memory).
pub async fn version_diff(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    query: web::Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (Some(from), Some(to)) = (
        parse_side(query.from.as_deref())?,
        parse_side(query.to.as_deref())?,
    ) else {
        return Err(AppError::bad_request("Choose both versions to compare."));
    };
    let ws_id = ctx.workspace.id;
    let (script_path, text) = with_conn(&state, move |conn| {
        let script = scripts::find(conn, ws_id, id)?.ok_or(AppError::NotFound)?;
        let mut side = |which: Option<i32>| -> Result<(String, String), AppError> {
            match which {
                None => Ok(("draft".to_owned(), script.draft_content.clone())),
                Some(n) => {
                    let v = scripts::version(conn, script.id, n)?.ok_or_else(|| {
                        AppError::bad_request(format!("{} has no v{n}.", script.path))
                    })?;
                    Ok((format!("v{n}"), v.content))
                }
            }
        };
        let (old_label, old) = side(from)?;
        let (new_label, new) = side(to)?;
        let (a, b) =
            crate::routes::download::diff_labels(&script.path, Some(old_label), Some(new_label));
        Ok((
            script.path.clone(),
            crate::diff::unified(&old, &new, &a, &b),
        ))
    })
    .await?;
    let what = format!(
        "{}-{}",
        from.map_or("draft".to_owned(), |n| format!("v{n}")),
        to.map_or("draft".to_owned(), |n| format!("v{n}"))
    );
    Ok(
        crate::routes::download::diff_file(&crate::routes::download::diff_filename(
            &script_path,
            &what,
        ))
        .body(text),
    )
}
