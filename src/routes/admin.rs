//! `/admin/users`: tenant administrators create users, deactivate and reactivate them, grant or
//! revoke tenant administration, and reset passwords. `/admin/tokens`: they see every user's
//! API access tokens and revoke any. The data layer re-checks the actor.

use crate::domain::UserId;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::session::{self, FlashKind};
use crate::db::models::audit::{self, AuditFilter, AuditRow};
use crate::db::models::tokens::{self, OwnedToken};
use crate::db::models::users::{self, NewUser, User};
use crate::domain::{DisplayName, TokenId, Username, validate_new_password};
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, refusal, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

fn require_tenant_admin(current: &CurrentUser) -> Result<(), AppError> {
    if current.user.is_tenant_admin {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Only tenant administrators can manage users and their tokens.",
        ))
    }
}

#[derive(Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    tenant_admin: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html", blocks = ["rows"])]
struct UsersPage {
    layout: Layout,
    me: UserId,
    users: Vec<User>,
    q: String,
    form: NewUserForm,
    errors: FormErrors,
    /// The latest user-administration entries of the audit log (they belong to no workspace).
    recent: Vec<AuditRow>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
}

async fn users_page(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    q: String,
    form: NewUserForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(current);
    let is_htmx = current.is_htmx && status == StatusCode::OK;
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(conn, &viewer, "Users", "users", None)?;
        let filter = Some(q.as_str()).filter(|q| !q.is_empty());
        let users = users::list(conn, filter)?;
        let (recent, _) = audit::list(conn, None, &AuditFilter::default(), 10, 0)?;
        Ok(UsersPage {
            layout,
            me: viewer.user.id,
            users,
            q,
            form,
            errors,
            recent,
        })
    })
    .await?;
    if is_htmx {
        let html = page.as_rows().render().map_err(AppError::internal)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html));
    }
    render(&page, status)
}

/// `GET /admin/users?q=`.
pub async fn users(
    state: web::Data<AppState>,
    current: CurrentUser,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    let q = query.into_inner().q.unwrap_or_default().trim().to_owned();
    if q.chars().count() > 100 {
        return Err(AppError::bad_request(
            "A search has at most 100 characters.",
        ));
    }
    users_page(
        &state,
        &current,
        q,
        NewUserForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/users`.
pub async fn create_user(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    let mut form = form.into_inner();
    let mut errors = FormErrors::default();
    let username = errors.check("username", Username::parse(&form.username));
    let display_name = errors.check("display_name", DisplayName::parse(&form.display_name));
    errors.check(
        "password",
        validate_new_password(&form.password, form.username.trim()),
    );
    let (Some(username), Some(display_name), true) = (username, display_name, errors.is_empty())
    else {
        form.password.clear();
        return users_page(
            &state,
            &current,
            String::new(),
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let password = std::mem::take(&mut form.password);
    let hasher = state.hasher.clone();
    let hash = web::block(move || hasher.hash(&password))
        .await?
        .map_err(AppError::internal)?;
    let actor = current.user.id;
    let tenant_admin = form.tenant_admin.is_some();
    let created = with_conn(&state, move |conn| {
        users::create(
            conn,
            Some(actor),
            NewUser {
                username: &username,
                display_name: &display_name,
                password_hash: &hash,
                tenant_admin,
            },
        )
    })
    .await;
    match created {
        Ok(user) => {
            session::flash(
                &current.session,
                FlashKind::Ok,
                format!(
                    "User {} created. Add them to a workspace from its settings.",
                    user.username
                ),
            );
            Ok(see_other(crate::paths::admin_users()))
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            users_page(
                &state,
                &current,
                String::new(),
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
pub struct FlagForm {
    #[serde(default)]
    value: String,
}

fn parse_flag(form: &FlagForm) -> Result<bool, AppError> {
    match form.value.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::bad_request("value must be true or false.")),
    }
}

/// Success goes back to the list with a message (303). A conflict is answered like every
/// other refusal: the list as it now is, 409, with the message (`refused`).
async fn back(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    outcome: Result<String, AppError>,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Ok(message) => {
            session::flash(&current.session, FlashKind::Ok, message);
            Ok(see_other(crate::paths::admin_users()))
        }
        Err(AppError::Conflict(message)) => {
            refused(state, current, StatusCode::CONFLICT, message).await
        }
        Err(e) => Err(e),
    }
}

/// The users list again with `status` and the message as its flash (a toast for htmx).
async fn refused(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    status: StatusCode,
    message: String,
) -> Result<HttpResponse, AppError> {
    session::flash(&current.session, FlashKind::Error, message.clone());
    let page = users_page(
        state,
        current,
        String::new(),
        NewUserForm::default(),
        FormErrors::default(),
        status,
    )
    .await?;
    Ok(refusal(page, message))
}

/// `POST /admin/users/{id}/active` with `value=true|false`.
pub async fn set_active(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<UserId>,
    form: web::Form<FlagForm>,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    let active = parse_flag(&form)?;
    let (actor, id) = (current.user.id, path.into_inner());
    let outcome = with_conn(&state, move |conn| {
        users::set_active(conn, actor, id, active)
    })
    .await
    .map(|u| {
        if active {
            format!("{} can sign in again.", u.username)
        } else {
            format!(
                "{} is deactivated and was signed out everywhere.",
                u.username
            )
        }
    });
    back(&state, &current, outcome).await
}

/// `POST /admin/users/{id}/tenant-admin` with `value=true|false`.
pub async fn set_tenant_admin(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<UserId>,
    form: web::Form<FlagForm>,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    let grant = parse_flag(&form)?;
    let (actor, id) = (current.user.id, path.into_inner());
    let outcome = with_conn(&state, move |conn| {
        users::set_tenant_admin(conn, actor, id, grant)
    })
    .await
    .map(|u| {
        if grant {
            format!("{} is now a tenant administrator.", u.username)
        } else {
            format!("{} is no longer a tenant administrator.", u.username)
        }
    });
    back(&state, &current, outcome).await
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// `POST /admin/users/{id}/password`: sets a new password and signs the user out everywhere.
pub async fn reset_password(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<UserId>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    let id = path.into_inner();
    let target = with_conn(&state, move |conn| Ok(users::find(conn, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    if let Err(e) = validate_new_password(&form.password, &target.username) {
        let message = format!("Password for {} not changed: {e}", target.username);
        return refused(&state, &current, StatusCode::UNPROCESSABLE_ENTITY, message).await;
    }
    let password = form.into_inner().password;
    let hasher = state.hasher.clone();
    let hash = web::block(move || hasher.hash(&password))
        .await?
        .map_err(AppError::internal)?;
    let actor = current.user.id;
    let outcome = with_conn(&state, move |conn| {
        users::reset_password(conn, actor, id, &hash)
    })
    .await
    .map(|u| {
        format!(
            "New password set for {}; they were signed out everywhere.",
            u.username
        )
    });
    back(&state, &current, outcome).await
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    /// Every user's unrevoked tokens, newest first (`tokens::list_all`).
    tokens: Vec<OwnedToken>,
}

async fn tokens_page(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(current);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(conn, &viewer, "Access tokens", "tokens", None)?;
        let tokens = tokens::list_all(conn, viewer.user.id)?;
        Ok(TokensPage { layout, tokens })
    })
    .await?;
    render(&page, status)
}

/// `GET /admin/tokens`.
pub async fn tokens(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    tokens_page(&state, &current, StatusCode::OK).await
}

/// `POST /admin/tokens/{id}/revoke`: revokes anyone's token. Already revoked (someone acted
/// first) answers 409 with the list as it now is.
pub async fn revoke_token(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<TokenId>,
) -> Result<HttpResponse, AppError> {
    require_tenant_admin(&current)?;
    let (actor, id) = (current.user.id, path.into_inner());
    let revoked = with_conn(&state, move |conn| tokens::revoke(conn, actor, id)).await;
    match revoked {
        Ok(token) => {
            session::flash(
                &current.session,
                FlashKind::Ok,
                format!("Token “{}” revoked.", token.name),
            );
            Ok(see_other(crate::paths::admin_tokens()))
        }
        Err(AppError::Conflict(message)) => {
            session::flash(&current.session, FlashKind::Error, message.clone());
            let page = tokens_page(&state, &current, StatusCode::CONFLICT).await?;
            Ok(refusal(page, message))
        }
        Err(e) => Err(e),
    }
}
