//! `/account`: who I am, my workspaces, my live sessions (each can be ended; ending this one
//! signs out), changing my own password (which signs every other session out; this one is
//! renewed with the new epoch), and my API access tokens: creating one shows its secret on the
//! page that answers the POST and never again; revoking one stops it at once.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::device;
use crate::auth::session::{self, FlashKind};
use crate::db::models::sessions::{self, Ended, LiveSession, SessionHandle};
use crate::db::models::tokens::{self, ApiToken, Created, CreatedBy, NewToken};
use crate::db::models::users::{self, User};
use crate::db::models::workspaces::{self, WorkspaceSummary};
use crate::domain::token::{self, DEFAULT_DAYS, MAX_DAYS, MAX_PER_USER};
use crate::domain::{TokenId, TokenName, TokenScope, validate_new_password};
use crate::error::AppError;
use crate::filters;
use crate::routes::form::Form;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, refusal, render, see_other};
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
    /// The password form's messages.
    errors: FormErrors,
    /// The user's unrevoked tokens, newest first (expired ones too, marked).
    tokens: Vec<ApiToken>,
    token_form: TokenForm,
    token_errors: FormErrors,
    /// The token this request created: the only page its secret is ever on.
    created: Option<Created>,
    /// `token::DEFAULT_DAYS`, `token::MAX_DAYS` and `token::MAX_PER_USER`, for the page to say.
    default_days: i64,
    max_days: i64,
    max_tokens: i64,
}

impl AccountPage {
    fn scopes(&self) -> &'static [TokenScope] {
        TokenScope::ALL
    }
}

/// What the page shows besides the stored state: the forms as sent, with their messages, and
/// a token just created.
#[derive(Default)]
struct Forms {
    password_errors: FormErrors,
    token: TokenForm,
    token_errors: FormErrors,
    created: Option<Created>,
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
    forms: Forms,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(current);
    let session_id = current.session_id.clone();
    let shows_secret = forms.created.is_some();
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
        let tokens = tokens::list_for_user(conn, viewer.user.id)?;
        Ok(AccountPage {
            layout,
            user: viewer.user,
            workspaces,
            sessions,
            max_sessions: sessions::MAX_PER_USER,
            session_hours: sessions::SESSION_HOURS,
            errors: forms.password_errors,
            tokens,
            token_form: forms.token,
            token_errors: forms.token_errors,
            created: forms.created,
            default_days: DEFAULT_DAYS,
            max_days: MAX_DAYS,
            max_tokens: MAX_PER_USER,
        })
    })
    .await?;
    let mut resp = render(&page, status)?;
    if shows_secret {
        // The one page that holds a secret stays out of every cache, the browser's included.
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(resp)
}

/// `GET /account`.
pub async fn page(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    account_page(&state, &current, Forms::default(), StatusCode::OK).await
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
        let forms = Forms {
            password_errors: errors,
            ..Forms::default()
        };
        return account_page(&state, &current, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
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

/// The Access tokens form as sent, kept to re-render it with its messages.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
    #[serde(default)]
    scope: String,
}

impl Default for TokenForm {
    /// The form as the page first shows it: `DEFAULT_DAYS`, read only.
    fn default() -> Self {
        TokenForm {
            name: String::new(),
            expires_in_days: DEFAULT_DAYS.to_string(),
            scope: TokenScope::Read.as_str().to_owned(),
        }
    }
}

/// `POST /account/tokens`: creates a token for the caller and answers with the Account page
/// itself (200, not a redirect), which shows the secret this once. Bad values re-render the
/// form with a message per field (422).
pub async fn create_token(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let name = errors.check("name", TokenName::parse(&form.name));
    let days = errors.check("expires_in_days", token::parse_days(&form.expires_in_days));
    let scope = errors.check("scope", TokenScope::from_field(&form.scope));
    let (Some(name), Some(days), Some(scope)) = (name, days, scope) else {
        return refused_token(&state, &current, form, errors).await;
    };
    let owner = current.user.id;
    let new = NewToken { name, scope, days };
    let created = with_conn(&state, move |conn| {
        tokens::create(conn, owner, &new, CreatedBy::Owner)
    })
    .await;
    match created {
        Ok(created) => {
            let forms = Forms {
                created: Some(created),
                ..Forms::default()
            };
            account_page(&state, &current, forms, StatusCode::OK).await
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            refused_token(&state, &current, form, errors).await
        }
        Err(e) => Err(e),
    }
}

/// The Account page with the token form as sent and its messages (422).
async fn refused_token(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    form: TokenForm,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let forms = Forms {
        token: form,
        token_errors: errors,
        ..Forms::default()
    };
    account_page(state, current, forms, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `POST /account/tokens/{id}/revoke`: revokes one of the caller's tokens (`tokens::revoke`
/// decides whose: anyone else's is not found, unless the caller is a tenant administrator).
/// A token already revoked (a second click) answers 409 with the page and the message.
pub async fn revoke_token(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<TokenId>,
) -> Result<HttpResponse, AppError> {
    let (actor, id) = (current.user.id, path.into_inner());
    let revoked = with_conn(&state, move |conn| tokens::revoke(conn, actor, id)).await;
    match revoked {
        Ok(token) => {
            session::flash(
                &current.session,
                FlashKind::Ok,
                format!(
                    "Token “{}” revoked. Anything still using it is refused from now on.",
                    token.name
                ),
            );
            Ok(see_other(&format!("{}#tokens", crate::paths::account())))
        }
        Err(AppError::Conflict(message)) => {
            session::flash(&current.session, FlashKind::Error, message.clone());
            let page =
                account_page(&state, &current, Forms::default(), StatusCode::CONFLICT).await?;
            Ok(refusal(page, message))
        }
        Err(e) => Err(e),
    }
}
