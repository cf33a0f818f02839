//! `/account`: who I am, my workspaces, my live sessions (each can be ended; ending this one
//! signs out), changing my own password (which signs every other session out; this one is
//! renewed with the new epoch), my API access tokens (creating one shows its secret on the
//! page that answers the POST and never again; revoking one stops it at once), and my
//! notifications: my email address, email on or off per event kind, a daily digest, and a
//! rate-limited "send me a test email" (`db::models::preferences` holds the rules).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::device;
use crate::auth::session::{self, FlashKind};
use crate::db::models::notifications::NotificationKind;
use crate::db::models::preferences::{self, KindChoice, TestRefused};
use crate::db::models::sessions::{self, Ended, LiveSession, SessionHandle};
use crate::db::models::tokens::{self, ApiToken, Created, CreatedBy, NewToken};
use crate::db::models::users::{self, User};
use crate::db::models::workspaces::{self, WorkspaceSummary};
use crate::domain::token::{self, DEFAULT_DAYS, MAX_DAYS, MAX_PER_USER};
use crate::domain::{
    DigestHour, EmailAddress, MAX_EMAIL_LEN, TokenId, TokenName, TokenScope, masked_address,
    validate_new_password,
};
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
    /// The stored address, for the test email's button (empty: none).
    email: String,
    /// The address field: as sent when refused, else the stored address.
    email_form: String,
    email_errors: FormErrors,
    email_notice: Option<String>,
    /// Every choosable kind with its choice (as sent, when the form was refused) and default.
    kinds: Vec<KindChoice>,
    /// The digest field's value: `off` or an hour, as sent when refused.
    digest_form: String,
    prefs_errors: FormErrors,
    prefs_notice: Option<String>,
    test_result: Option<TestResult>,
    /// Whether this server sends email (`--smtp-url`).
    sends_email: bool,
    /// The time now, UTC, `HH:MM`, beside the digest's hour.
    utc_now: String,
    max_email: usize,
    test_every: i64,
}

impl AccountPage {
    fn scopes(&self) -> &'static [TokenScope] {
        TokenScope::ALL
    }
    fn hours(&self) -> impl Iterator<Item = DigestHour> {
        DigestHour::all()
    }
}

/// The answer to "Send me a test email", shown beside the button.
struct TestResult {
    sent: bool,
    message: String,
}

/// The Notifications form as sent, kept to re-render it with its messages.
#[derive(Deserialize)]
pub struct NotificationsForm {
    /// The kinds to email (checkboxes: absent when none is checked).
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    digest_hour: String,
}

/// What the page shows besides the stored state: the forms as sent, with their messages, and
/// a token just created.
#[derive(Default)]
struct Forms {
    password_errors: FormErrors,
    token: TokenForm,
    token_errors: FormErrors,
    created: Option<Created>,
    /// The address as sent (refused).
    email: Option<String>,
    email_errors: FormErrors,
    email_notice: Option<String>,
    /// The Notifications form as sent (refused).
    prefs: Option<NotificationsForm>,
    prefs_errors: FormErrors,
    prefs_notice: Option<String>,
    test_result: Option<TestResult>,
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
    let sends_email = state.mail.is_some();
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
        let settings = preferences::load(conn, viewer.user.id)?;
        let mut kinds = settings.kinds;
        let digest_form = match &forms.prefs {
            Some(sent) => {
                for k in &mut kinds {
                    k.email = sent.kinds.iter().any(|s| s == k.kind.as_str());
                }
                sent.digest_hour.clone()
            }
            None => settings
                .digest
                .map_or_else(|| "off".to_owned(), |h| h.get().to_string()),
        };
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
            email_form: forms.email.unwrap_or_else(|| settings.email.clone()),
            email: settings.email,
            email_errors: forms.email_errors,
            email_notice: forms.email_notice,
            kinds,
            digest_form,
            prefs_errors: forms.prefs_errors,
            prefs_notice: forms.prefs_notice,
            test_result: forms.test_result,
            sends_email,
            utc_now: crate::db::now().format("%H:%M").to_string(),
            max_email: MAX_EMAIL_LEN,
            test_every: preferences::TEST_EMAIL_EVERY_SECONDS,
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

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /account/email`: sets the caller's address, or clears it when sent empty (then no
/// email goes to them). A refused address re-renders the form as typed with its message (422).
pub async fn set_email(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let address = if form.email.trim().is_empty() {
        None
    } else {
        match EmailAddress::parse(&form.email) {
            Ok(address) => Some(address),
            Err(e) => {
                let mut errors = FormErrors::default();
                errors.add("email", e.to_string());
                let forms = Forms {
                    email: Some(form.email),
                    email_errors: errors,
                    ..Forms::default()
                };
                return account_page(&state, &current, forms, StatusCode::UNPROCESSABLE_ENTITY)
                    .await;
            }
        }
    };
    let user = current.user.id;
    let cleared = address.is_none();
    let changed = with_conn(&state, move |conn| {
        preferences::set_own_email(conn, user, address.as_ref())
    })
    .await?;
    let notice = match (changed, cleared) {
        (false, _) => "Nothing to change: that is already your address.",
        (true, false) => {
            "Address saved: your notifications go to it from now on. Send yourself a test email to check it."
        }
        (true, true) => "Address removed: releasedesk sends you no email now.",
    };
    let forms = Forms {
        email_notice: Some(notice.to_owned()),
        ..Forms::default()
    };
    account_page(&state, &current, forms, StatusCode::OK).await
}

/// `POST /account/notifications`: saves which kinds the caller gets email for (the checked
/// ones) and their daily digest's hour (`off`: none). Refused values re-render the form as sent
/// with a message per field (422) and save nothing.
pub async fn save_notifications(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: Form<NotificationsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let mut email_on = Vec::new();
    for raw in &form.kinds {
        match NotificationKind::parse(raw).filter(|k| preferences::choosable().any(|c| c == *k)) {
            Some(kind) => email_on.push(kind),
            None if !errors.has("kinds") => {
                errors.add("kinds", "Choose among the events listed here.");
            }
            None => {}
        }
    }
    let digest = errors.check("digest_hour", DigestHour::parse_field(&form.digest_hour));
    let Some(digest) = digest.filter(|_| errors.is_empty()) else {
        let forms = Forms {
            prefs: Some(form),
            prefs_errors: errors,
            ..Forms::default()
        };
        return account_page(&state, &current, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let user = current.user.id;
    with_conn(&state, move |conn| {
        preferences::save(conn, user, &email_on, digest)
    })
    .await?;
    let notice = match digest {
        Some(hour) => format!(
            "Notification settings saved. Your daily digest comes at {} when something waits for you.",
            hour.label()
        ),
        None => "Notification settings saved. You get no daily digest.".to_owned(),
    };
    let forms = Forms {
        prefs_notice: Some(notice),
        ..Forms::default()
    };
    account_page(&state, &current, forms, StatusCode::OK).await
}

/// `POST /account/test-email`: sends one message to the caller's address now through this
/// server's SMTP settings, at most once every `preferences::TEST_EMAIL_EVERY_SECONDS` (429
/// sooner), and answers with the page and the outcome: sent (200), why it cannot be (409: no
/// SMTP here, no address), or the mail server's error (502).
pub async fn test_email(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let (status, sent, message) = match state.mail.clone() {
        None => (
            StatusCode::CONFLICT,
            false,
            "This server sends no email: no --smtp-url is set.".to_owned(),
        ),
        Some(mail) => {
            let user = current.user.id;
            let turn = with_conn(&state, move |conn| {
                preferences::take_test_email_turn(conn, user)
            })
            .await?;
            match turn {
                Err(TestRefused::NoAddress) => (
                    StatusCode::CONFLICT,
                    false,
                    "You have no email address: save one first.".to_owned(),
                ),
                Err(TestRefused::TooSoon(wait)) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    false,
                    format!("A test email went out moments ago; try again in {wait} seconds."),
                ),
                Ok(address) => {
                    let masked = masked_address(&address);
                    let name = if current.user.display_name.is_empty() {
                        current.user.username.clone()
                    } else {
                        current.user.display_name.clone()
                    };
                    let result = web::block(move || {
                        crate::worker::notify::send_test(&mail, &name, &address)
                    })
                    .await?;
                    match result {
                        Ok(()) => (
                            StatusCode::OK,
                            true,
                            format!(
                                "Sent to {masked}. If it does not arrive, look in its spam folder."
                            ),
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "test email not sent");
                            (
                                StatusCode::BAD_GATEWAY,
                                false,
                                format!("Not sent to {masked}: {e}"),
                            )
                        }
                    }
                }
            }
        }
    };
    let forms = Forms {
        test_result: Some(TestResult { sent, message }),
        ..Forms::default()
    };
    account_page(&state, &current, forms, status).await
}
