//! Extractors that say who is asking. `CurrentUser` loads the signed-in user on every request and
//! checks the session epoch and the active flag, so deactivation and password changes sign a
//! user out everywhere at once. `WorkspaceCtx` adds the workspace from the `{ws}` path segment
//! and the user's access there (404 when they are not a member). Both note when the session was
//! last seen, at most once a minute (`sessions::touch`).

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::db::DbConn;
use crate::db::models::sessions;
use crate::db::models::users::User;
use crate::db::models::workspaces::{self, Workspace};
use crate::domain::{Permission, WorkspaceAccess};
use crate::error::AppError;
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

use super::session::{self, SessionIdentity};

/// The signed-in, active user of this request.
pub struct CurrentUser {
    pub user: User,
    /// The `user_sessions` row of this request's session.
    pub session_id: String,
    pub session: Session,
    pub csrf: String,
    pub is_htmx: bool,
}

/// The signed-in user, the workspace named in the path, and their access to it.
pub struct WorkspaceCtx {
    pub current: CurrentUser,
    pub workspace: Workspace,
    pub access: WorkspaceAccess,
}

impl WorkspaceCtx {
    pub fn user(&self) -> &User {
        &self.current.user
    }

    /// Refuses (403) unless the user holds `permission` here. Handlers call this to pick what
    /// to show; the data layer checks again inside the transaction that changes state.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.access.can(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "Your role in this workspace does not allow this.",
            ))
        }
    }
}

pub fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))
}

/// A signed-in user as the session's row has them, and whether that row's "last seen" is due.
struct Loaded {
    user: User,
    touch: bool,
}

/// Loads the session's user; `Unauthenticated` when the session is not (or no longer) valid.
fn load_user(conn: &mut DbConn, identity: Option<SessionIdentity>) -> Result<Loaded, AppError> {
    let identity = identity.ok_or(AppError::Unauthenticated)?;
    match sessions::live_user(conn, &identity.session_id, identity.user_id)? {
        Some((user, last_seen_at)) if user.is_active && user.session_epoch == identity.epoch => {
            Ok(Loaded {
                user,
                touch: sessions::needs_touch(last_seen_at),
            })
        }
        // Signed out, expired, deactivated, password changed, or the user is gone: this
        // session is over.
        _ => Err(AppError::Unauthenticated),
    }
}

/// Writes the session's "last seen" (at most once a minute: `load_user` says when). A write, so
/// on the blocking pool; a failure only leaves the time older than it could be.
async fn touch_if_due(state: &web::Data<AppState>, loaded: &Loaded, session_id: &str) {
    if !loaded.touch {
        return;
    }
    let id = session_id.to_owned();
    if let Err(e) = with_conn(state, move |conn| Ok(sessions::touch(conn, &id)?)).await {
        tracing::warn!(error = %e, "could not record when a session was last seen");
    }
}

/// Ends a session the server no longer honours, so the browser stops sending it.
fn forget_if_revoked<T>(session: &Session, result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(AppError::Unauthenticated) = &result {
        session::sign_out(session);
    }
    result
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = state(req);
        let is_htmx = req.headers().contains_key("hx-request");
        Box::pin(async move {
            let state = state?;
            let identity = session::identity(&session);
            let session_id = identity
                .as_ref()
                .map(|i| i.session_id.clone())
                .unwrap_or_default();
            let loaded = forget_if_revoked(
                &session,
                with_read_conn(&state, move |conn| load_user(conn, identity)).await,
            )?;
            touch_if_due(&state, &loaded, &session_id).await;
            let user = loaded.user;
            let csrf = session::csrf_token(&session);
            Ok(CurrentUser {
                user,
                session_id,
                session,
                csrf,
                is_htmx,
            })
        })
    }
}

impl FromRequest for WorkspaceCtx {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = state(req);
        let slug = req.match_info().get("ws").map(str::to_owned);
        let is_htmx = req.headers().contains_key("hx-request");
        Box::pin(async move {
            let state = state?;
            let slug = slug.ok_or(AppError::NotFound)?;
            let identity = session::identity(&session);
            let session_id = identity
                .as_ref()
                .map(|i| i.session_id.clone())
                .unwrap_or_default();
            // One checkout for both lookups (a PostgreSQL checkout also pings the connection).
            let loaded = with_read_conn(&state, move |conn| {
                let loaded = load_user(conn, identity)?;
                let (ws, access) = workspaces::access(conn, &loaded.user, &slug)?;
                Ok((loaded, ws, access))
            })
            .await;
            let (loaded, workspace, access) = forget_if_revoked(&session, loaded)?;
            touch_if_due(&state, &loaded, &session_id).await;
            let user = loaded.user;
            let csrf = session::csrf_token(&session);
            Ok(WorkspaceCtx {
                current: CurrentUser {
                    user,
                    session_id,
                    session,
                    csrf,
                    is_htmx,
                },
                workspace,
                access,
            })
        })
    }
}
