//! `/workspaces/{ws}/settings/notifications`: the workspace's notification hooks (a chat
//! channel or a generic receiver of signed JSON) and the events each wants, with "send a test
//! event". Workspace admins and tenant administrators only; `db::models::hooks` checks again
//! inside each transaction and audits the change.
//!
//! A generic hook's signing secret is shown once, by the page that answers the POST that made
//! it (200, `Cache-Control: no-store`), and never again; the URL is shown as its origin only.
//! Bad input re-renders the form (422) with what was typed, except the secret, and a message
//! per field.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::csrf::AllowedOrigin;
use crate::auth::session::{self, FlashKind};
use crate::db::models::hooks::{self, Created, HookFormat, HookInput, HookSummary};
use crate::db::models::notifications::NotificationKind;
use crate::db::models::workspaces::Workspace;
use crate::domain::Permission;
use crate::error::AppError;
use crate::routes::form::Form;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, refusal, render, see_other};
use crate::state::{AppState, with_conn, with_read_conn};

/// The hook form as sent. `secret` is write-only: never rendered back.
#[derive(Debug, Default, Deserialize)]
pub struct HookForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    kinds: Vec<String>,
}

impl HookForm {
    fn of(h: &HookSummary) -> Self {
        HookForm {
            name: h.name.clone(),
            format: h.format.as_str().into(),
            url: String::new(),
            secret: String::new(),
            kinds: h.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        }
    }

    fn new_hook() -> Self {
        HookForm {
            format: HookFormat::Chat.as_str().into(),
            kinds: kinds()
                .iter()
                .filter(|k| waits_for_someone(**k))
                .map(|k| k.as_str().to_owned())
                .collect(),
            ..HookForm::default()
        }
    }

    fn checked(&self, kind: &NotificationKind) -> bool {
        self.kinds.iter().any(|k| k == kind.as_str())
    }

    /// The validated input, or the messages. `creating`: a URL is required (an update keeps
    /// the stored one when it is left blank).
    fn input(&self, creating: bool, errors: &mut FormErrors) -> Option<HookInput> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            errors.add(
                "name",
                "A hook name has 1 to 60 characters, e.g. #releases.",
            );
        } else if name.chars().any(char::is_control) {
            errors.add("name", "A hook name cannot hold control characters.");
        }
        let format = HookFormat::parse(&self.format);
        if format.is_none() {
            errors.add("format", "Choose chat or generic JSON.");
        }
        let url = self.url.trim();
        if url.is_empty() {
            if creating {
                errors.add("url", "Enter the receiver's http:// or https:// URL.");
            }
        } else if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() > hooks::MAX_URL_LEN
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            errors.add(
                "url",
                format!(
                    "Enter the receiver's http:// or https:// URL ({} characters at most).",
                    hooks::MAX_URL_LEN
                ),
            );
        }
        let secret = self.secret.trim();
        if format == Some(HookFormat::Generic)
            && !secret.is_empty()
            && (secret.len() < 16
                || secret.len() > 200
                || secret.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            errors.add(
                "secret",
                "A signing secret has 16 to 200 characters and no spaces; leave it empty to have one generated.",
            );
        }
        let mut chosen = Vec::new();
        for raw in &self.kinds {
            match NotificationKind::parse(raw).filter(|k| kinds().contains(k)) {
                Some(k) => chosen.push(k),
                None => {
                    errors.add("kinds", "Choose events from the list.");
                    break;
                }
            }
        }
        if self.kinds.is_empty() {
            errors.add("kinds", "Choose at least one event to send.");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(HookInput {
            name: name.to_owned(),
            format: format?,
            url: (!url.is_empty()).then(|| url.to_owned()),
            secret: (format == Some(HookFormat::Generic) && !secret.is_empty())
                .then(|| secret.to_owned()),
            kinds: chosen,
        })
    }
}

/// The event kinds a hook can want: every `NotificationKind` but the digest, which is a
/// person's summary email, not an event.
pub fn kinds() -> Vec<NotificationKind> {
    NotificationKind::ALL
        .iter()
        .copied()
        .filter(|k| k.as_str() != "digest")
        .collect()
}

/// The events checked for a new hook: those that ask someone to act.
fn waits_for_someone(kind: NotificationKind) -> bool {
    matches!(
        kind,
        NotificationKind::ReviewRequested | NotificationKind::CheckpointWaiting
    )
}

#[derive(Template)]
#[template(path = "workspaces/notifications.html")]
struct NotificationsPage {
    layout: Layout,
    workspace: Workspace,
    hooks: Vec<HookSummary>,
    /// The hook being edited (the form then changes it), or `None` (the form adds one).
    editing: Option<HookSummary>,
    form: HookForm,
    errors: FormErrors,
    /// A hook just created (or given a new secret): its secret, shown this once.
    created: Option<Created>,
    kinds: Vec<NotificationKind>,
    formats: &'static [HookFormat],
}

async fn notifications_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    editing: Option<i64>,
    form: Option<HookForm>,
    errors: FormErrors,
    created: Option<Created>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let shows_secret = created.as_ref().is_some_and(|c| c.secret.is_some());
    let page = with_read_conn(state, move |conn| {
        let hooks = hooks::list(conn, workspace.id)?;
        let editing = match editing {
            Some(id) => Some(
                hooks
                    .iter()
                    .find(|h| h.id == id)
                    .cloned()
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Notifications · {}", workspace.name),
            "settings",
            Some((&workspace, &access)),
        )?;
        let form = form.unwrap_or_else(|| match &editing {
            Some(h) => HookForm::of(h),
            None => HookForm::new_hook(),
        });
        Ok(NotificationsPage {
            layout,
            workspace,
            hooks,
            editing,
            form,
            errors,
            created,
            kinds: kinds(),
            formats: HookFormat::ALL,
        })
    })
    .await?;
    let mut resp = render(&page, status)?;
    if shows_secret {
        // The one answer that holds the secret stays out of every cache.
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(resp)
}

fn back(ctx: &WorkspaceCtx) -> HttpResponse {
    see_other(&crate::paths::notification_hooks(&ctx.workspace.slug))
}

/// `GET /workspaces/{ws}/settings/notifications`.
pub async fn page(state: web::Data<AppState>, ctx: WorkspaceCtx) -> Result<HttpResponse, AppError> {
    notifications_page(
        &state,
        ctx,
        None,
        None,
        FormErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `GET /workspaces/{ws}/settings/notifications/{id}`: the page with the hook's edit form.
pub async fn edit(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    notifications_page(
        &state,
        ctx,
        Some(id),
        None,
        FormErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Answers a create or update: the page with the secret when one was made, else back to the
/// list with a message; a refused value re-renders the form; a conflict says why.
async fn respond(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    editing: Option<i64>,
    mut form: HookForm,
    outcome: Result<Created, AppError>,
    verb: &str,
) -> Result<HttpResponse, AppError> {
    form.secret.clear();
    match outcome {
        Ok(created) if created.secret.is_some() => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("Hook {} {verb}.", created.name),
            );
            notifications_page(
                state,
                ctx,
                None,
                None,
                FormErrors::default(),
                Some(created),
                StatusCode::OK,
            )
            .await
        }
        Ok(created) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("Hook {} {verb}.", created.name),
            );
            Ok(back(&ctx))
        }
        Err(AppError::Field { field, message }) => {
            let mut errors = FormErrors::default();
            errors.add(field, message);
            notifications_page(
                state,
                ctx,
                editing,
                Some(form),
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `POST /workspaces/{ws}/settings/notifications`: adds a hook.
pub async fn create(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: Form<HookForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let mut form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(input) = form.input(true, &mut errors) else {
        form.secret.clear();
        return notifications_page(
            &state,
            ctx,
            None,
            Some(form),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, private) = (ctx.user().id, ctx.workspace.id, state.private_webhooks);
    let outcome = with_conn(&state, move |conn| {
        hooks::create(conn, actor, ws_id, &input, private)
    })
    .await;
    respond(&state, ctx, None, form, outcome, "added").await
}

/// `POST /workspaces/{ws}/settings/notifications/{id}`: changes a hook.
pub async fn update(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    form: Form<HookForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let mut form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(input) = form.input(false, &mut errors) else {
        form.secret.clear();
        return notifications_page(
            &state,
            ctx,
            Some(id),
            Some(form),
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, private) = (ctx.user().id, ctx.workspace.id, state.private_webhooks);
    let outcome = with_conn(&state, move |conn| {
        hooks::update(conn, actor, ws_id, id, &input, private)
    })
    .await;
    respond(&state, ctx, Some(id), form, outcome, "saved").await
}

#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    active: String,
}

/// `POST /workspaces/{ws}/settings/notifications/{id}/active`: `active=true` or `false`.
pub async fn set_active(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<ActiveForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let active = match form.active.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::bad_request("active must be true or false.")),
    };
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        hooks::set_active(conn, actor, ws_id, id, active)
    })
    .await;
    finish(
        &state,
        ctx,
        outcome.map(|name| {
            if active {
                format!("Hook {name} is on again: it gets the events it wants from now on.")
            } else {
                format!("Hook {name} is off: it gets nothing until it is turned on again.")
            }
        }),
    )
    .await
}

/// `POST /workspaces/{ws}/settings/notifications/{id}/delete`.
pub async fn delete(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| hooks::delete(conn, actor, ws_id, id)).await;
    finish(
        &state,
        ctx,
        outcome.map(|name| format!("Hook {name} was deleted.")),
    )
    .await
}

/// Back to the list with the message, or (a conflict: someone acted first) the page with 409.
async fn finish(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    outcome: Result<String, AppError>,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Ok(message) => {
            session::flash(&ctx.current.session, FlashKind::Ok, message);
            Ok(back(&ctx))
        }
        Err(AppError::Conflict(message)) => {
            session::flash(&ctx.current.session, FlashKind::Error, message.clone());
            let page = notifications_page(
                state,
                ctx,
                None,
                None,
                FormErrors::default(),
                None,
                StatusCode::CONFLICT,
            )
            .await?;
            Ok(refusal(page, message))
        }
        Err(e) => Err(e),
    }
}

/// `POST /workspaces/{ws}/settings/notifications/{id}/test`: sends a test message to the hook
/// now (not through the outbox) and says what the receiver answered.
pub async fn test(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let hook = with_conn(&state, move |conn| hooks::for_test(conn, actor, ws_id, id)).await?;
    let origin = req
        .app_data::<web::Data<AllowedOrigin>>()
        .and_then(|o| o.0.clone())
        .unwrap_or_else(|| {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        });
    let (slug, ws_name, username) = (
        ctx.workspace.slug.clone(),
        ctx.workspace.name.clone(),
        ctx.user().username.clone(),
    );
    let private = state.private_webhooks;
    let name = hook.name.clone();
    let sent = web::block(move || {
        crate::worker::hooks::send_test(&hook, &slug, &ws_name, &username, &origin, private)
    })
    .await
    .map_err(AppError::internal)?;
    match sent {
        Ok(status) => session::flash(
            &ctx.current.session,
            FlashKind::Ok,
            format!("Test event sent to {name}: the receiver answered {status}."),
        ),
        Err(why) => session::flash(
            &ctx.current.session,
            FlashKind::Error,
            format!("The test event to {name} was not delivered: {why}."),
        ),
    }
    Ok(back(&ctx))
}
