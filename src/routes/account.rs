//! `/account`: who I am, my workspaces, my live sessions (each can be ended; ending this one
//! signs out), and changing my own password (which signs every other session out; this one is
//! renewed with the new epoch).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::device;
use crate::auth::session::{self, FlashKind};
use crate::db::models::sessions::{self, Ended, LiveSession, SessionHandle};
use crate::db::models::users::{self, User};
use crate::db::models::workspaces::{self, WorkspaceSummary};
use crate::domain::validate_new_password;
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

#[derive(Template)]
#[template(path = "account/page.html")]
struct AccountPage {
    layout: Layout,
    user: User,
    workspaces: Vec<WorkspaceSummary>,
    sessions: Vec<SessionRow>,
    /// `sessions::MAX_PER_USER` and `sessions::SESSION_HOURS`, for the page to say.
    max_sessions: usize,
    session_hours: i64,
    errors: FormErrors,
}

/// A live session as the page lists it.
struct SessionRow {
    session: LiveSession,
    /// The browser in a few words ("Firefox 128 on Linux").
    device: String,
}

async fn account_page(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(current);
    let session_id = current.session_id.clone();
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(conn, &viewer, "Your account", "account", None)?;
        let workspaces = workspaces::list_for_user(conn, &viewer.user)?
            .into_iter()
            .filter(|w| w.role.is_some())
            .collect();
        let sessions = sessions::list_live(conn, viewer.user.id, &session_id)?
            .into_iter()
            .map(|session| SessionRow {
                device: device::describe(&session.user_agent),
                session,
            })
            .collect();
        Ok(AccountPage {
            layout,
            user: viewer.user,
            workspaces,
            sessions,
            max_sessions: sessions::MAX_PER_USER,
            session_hours: sessions::SESSION_HOURS,
            errors,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /account`.
pub async fn page(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    account_page(&state, &current, FormErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /account/password`.
pub async fn change_password(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    errors.check(
        "new",
        validate_new_password(&form.new, &current.user.username),
    );
    if form.new != form.confirm {
        errors.add("confirm", "The two new passwords differ.");
    }
    let hasher = state.hasher.clone();
    let old_hash = current.user.password_hash.clone();
    let (current_pw, new_pw) = (form.current, form.new);
    let verified = {
        let hasher = hasher.clone();
        web::block(move || hasher.verify(&current_pw, &old_hash)).await?
    };
    if !verified {
        errors.add("current", "This is not your current password.");
    }
    if !errors.is_empty() {
        return account_page(&state, &current, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let new_hash = web::block(move || hasher.hash(&new_pw))
        .await?
        .map_err(AppError::internal)?;
    let (user_id, old_hash) = (current.user.id, current.user.password_hash.clone());
    let user = with_conn(&state, move |conn| {
        users::change_own_password(conn, user_id, &old_hash, &new_hash)
    })
    .await?;
    // Every other session is over (the epoch moved); this one continues under the new epoch.
    session::sign_in(
        &current.session,
        &current.session_id,
        user.id,
        user.session_epoch,
    );
    session::flash(
        &current.session,
        FlashKind::Ok,
        "Password changed. Your other sessions were signed out.",
    );
    Ok(see_other(crate::paths::account()))
}

/// `POST /account/sessions/{id}/end`: ends one of the caller's own sessions, named by its handle
/// (404 for anything else, someone else's included). Ending this one signs out.
pub async fn end_session(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let handle = SessionHandle::parse(&path.into_inner()).ok_or(AppError::NotFound)?;
    let (user, session_id) = (current.user.clone(), current.session_id.clone());
    let ended = with_conn(&state, move |conn| {
        sessions::end_own(conn, &user, &handle, &session_id)
    })
    .await?;
    match ended {
        Ended::Current => {
            session::sign_out(&current.session);
            Ok(see_other(crate::paths::login()))
        }
        Ended::Other => {
            session::flash(
                &current.session,
                FlashKind::Ok,
                "Session ended. That browser is signed out.",
            );
            Ok(see_other(crate::paths::account()))
        }
    }
}
