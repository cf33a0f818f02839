//! Sign-in and sign-out. Every `next` read here goes through `auth::next::SafeNext`.

use crate::domain::UserId;
use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::next::SafeNext;
use crate::auth::session;
use crate::db::models::{login_failures, sessions, users};
use crate::domain::Username;
use crate::error::AppError;
use crate::routes::layout::Layout;
use crate::routes::{render, see_other};
use crate::state::AppState;
use crate::state::with_conn;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    username: String,
    /// Where to go after sign-in, when the address asked for somewhere safe.
    next: Option<SafeNext>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page_for(
    session: &Session,
    username: String,
    next: Option<SafeNext>,
    error: Option<String>,
) -> LoginPage {
    let mut layout = Layout::bare("Sign in");
    layout.csrf = session::csrf_token(session);
    LoginPage {
        layout,
        username,
        next,
        error,
    }
}

/// `GET /login`. An unsafe `next` is dropped here, so the form never carries one.
pub async fn login_page(
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = query.next.as_deref().and_then(SafeNext::parse);
    if session::identity(&session).is_some() {
        return Ok(see_other(next.unwrap_or_default().as_str()));
    }
    let page = login_page_for(&session, String::new(), next, None);
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

enum Outcome {
    SignedIn {
        session_id: String,
        id: UserId,
        epoch: i64,
        username: String,
    },
    Deactivated,
    Failed,
    Throttled(u64),
}

/// `POST /login`: throttled per username and per client address (the attempt is counted before
/// the password is checked, `login_failures::begin_attempt`); the session is renewed.
pub async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let next = form.next.as_deref().and_then(SafeNext::parse);
    let typed = form.username.trim().to_owned();
    let client_ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let hasher = state.hasher.clone();
    let username = Username::parse(&typed)
        .map(|u| u.as_str().to_owned())
        .unwrap_or_else(|_| typed.to_lowercase());
    let password = form.password;
    // Usernames longer than any valid one are cut before they are stored as failures.
    let username: String = username.chars().take(40).collect();
    // Count the attempt and read the user, then verify without holding a database connection:
    // argon2 is slow.
    let (name, ip) = (username.clone(), client_ip.clone());
    let admitted = with_conn(&state, move |conn| {
        Ok(match login_failures::begin_attempt(conn, &name, &ip)? {
            Err(wait) => Err(wait),
            Ok(attempt) => Ok((attempt, users::find_by_username(conn, &name)?)),
        })
    })
    .await?;
    let outcome = match admitted {
        Err(wait) => Outcome::Throttled(wait),
        Ok((attempt, user)) => {
            let verified = web::block(move || match &user {
                Some(u) => (hasher.verify(&password, &u.password_hash), user),
                None => (hasher.verify_dummy(&password), user),
            })
            .await?;
            with_conn(&state, move |conn| match verified {
                (true, Some(u)) if u.is_active => {
                    login_failures::clear(conn, &username)?;
                    let session_id = sessions::start(
                        conn,
                        sessions::NewSession {
                            user_id: u.id,
                            user_agent: &user_agent,
                            client_ip: &client_ip,
                        },
                    )?;
                    Ok(Outcome::SignedIn {
                        session_id,
                        id: u.id,
                        epoch: u.session_epoch,
                        username: u.username,
                    })
                }
                (true, Some(_)) => {
                    login_failures::forgive(conn, attempt)?;
                    Ok(Outcome::Deactivated)
                }
                // The attempt's row stays: it is the failure.
                _ => Ok(Outcome::Failed),
            })
            .await?
        }
    };

    let (status, message) = match outcome {
        Outcome::SignedIn {
            session_id,
            id,
            epoch,
            username,
        } => {
            session::sign_in(&session, &session_id, id, epoch);
            tracing::info!(%username, "signed in");
            return Ok(see_other(next.unwrap_or_default().as_str()));
        }
        Outcome::Deactivated => (
            StatusCode::FORBIDDEN,
            "This account is deactivated. Ask a tenant administrator to reactivate it.".to_owned(),
        ),
        Outcome::Failed => (
            StatusCode::UNAUTHORIZED,
            "Wrong username or password.".to_owned(),
        ),
        Outcome::Throttled(wait) => {
            let page = login_page_for(
                &session,
                typed,
                next,
                Some(
                    AppError::TooManyAttempts {
                        retry_after_secs: wait,
                    }
                    .to_string(),
                ),
            );
            let mut resp = render(&page, StatusCode::TOO_MANY_REQUESTS)?;
            resp.headers_mut().insert(header::RETRY_AFTER, wait.into());
            return Ok(resp);
        }
    };
    render(
        &login_page_for(&session, typed, next, Some(message)),
        status,
    )
}

/// `POST /logout`: the session's row is deleted (so a copy of the cookie is worthless too) and
/// the cookie is removed.
pub async fn logout(
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(identity) = session::identity(&session) {
        with_conn(&state, move |conn| {
            Ok(sessions::end(conn, &identity.session_id)?)
        })
        .await?;
    }
    session::sign_out(&session);
    Ok(see_other(crate::paths::login()))
}
