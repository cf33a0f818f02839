//! `AppError`: the error type of handlers *and* of the rule-holding data functions in `db::models`
//! (a refused transition is an `AppError::Conflict` or `Forbidden` raised inside the transaction).
//!
//! Every variant renders as a full error page in the product's look. The `htmx_errors`
//! middleware turns it into a toast for htmx requests (see `middleware.rs`), using the
//! `ErrorMessage` extension set here. Internal errors are logged with their cause and shown
//! without it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::routes::layout::Layout;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not found, or not yours to see: the same answer, so nothing leaks across workspaces.
    #[error("The page you asked for does not exist, or you do not have access to it.")]
    NotFound,
    /// Signed out (or the session was revoked): go to the sign-in page.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// Known, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is wrong (a bad query parameter, an impossible value).
    #[error("{0}")]
    BadRequest(String),
    /// The state changed under the user (someone else acted first, or the rule forbids it now).
    #[error("{0}")]
    Conflict(String),
    /// A rule refused a form value; `field` names the input it belongs next to.
    #[error("{message}")]
    Field {
        field: &'static str,
        message: String,
    },
    /// A state-changing request without a valid CSRF token, or from another site.
    #[error(
        "This form has expired or did not come from releasedesk. Reload the page and try again."
    )]
    Csrf,
    /// A request body over its limit (forms: `auth::csrf::MAX_FORM_BYTES`).
    #[error("{0}")]
    TooLarge(String),
    /// Too many failed sign-ins.
    #[error("Too many failed sign-in attempts. Try again in {} minute(s).", retry_after_secs.div_ceil(60))]
    TooManyAttempts { retry_after_secs: u64 },
    /// Anything else: logged in full, shown as a generic message.
    #[error("Something went wrong on our side. The error has been logged; please try again.")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn forbidden(msg: impl Into<String>) -> Self {
        AppError::Forbidden(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        AppError::Conflict(msg.into())
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        AppError::BadRequest(msg.into())
    }
    /// A form over the size limit: 413 with the limit in the message.
    pub fn form_too_large() -> Self {
        AppError::TooLarge(format!(
            "The form is too large: at most {} MiB can be sent at once.",
            crate::auth::csrf::MAX_FORM_BYTES / (1024 * 1024)
        ))
    }
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        AppError::Field {
            field,
            message: message.into(),
        }
    }
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::NotFound => "Not found",
            AppError::Unauthenticated => "Sign in",
            AppError::Forbidden(_) | AppError::Csrf => "Not allowed",
            AppError::BadRequest(_) => "Bad request",
            AppError::TooLarge(_) => "Too large",
            AppError::Field { .. } => "Please check the form",
            AppError::Conflict(_) => "Could not complete",
            AppError::TooManyAttempts { .. } => "Too many attempts",
            AppError::Internal(_) => "Server error",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            // PostgreSQL refuses a NUL character in text (SQLite stores it). Whatever field or
            // filter carried it, the request is bad, not the server.
            diesel::result::Error::DatabaseError(_, ref info)
                if info.message().contains("invalid byte sequence")
                    && info.message().contains("0x00") =>
            {
                AppError::bad_request("Text cannot contain a NUL character.")
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Internal(anyhow::anyhow!("database pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task: {e}"))
    }
}

/// The message of an error response, for the htmx middleware to show as a toast.
#[derive(Clone, Debug)]
pub struct ErrorMessage(pub String);

/// The heading of an error page, kept on the response beside `ErrorMessage` so that
/// `middleware::error_pages` can draw the page again inside the viewer's navigation.
#[derive(Clone, Copy, Debug)]
pub struct ErrorHeading(pub &'static str);

/// An error page inside `layout` (the full navigation when the viewer is known).
pub fn error_page(layout: Layout, code: u16, heading: &str, message: String) -> Option<String> {
    ErrorPage {
        layout,
        code,
        heading,
        message,
    }
    .render()
    .ok()
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    code: u16,
    heading: &'a str,
    message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = %format!("{cause:#}"), "internal error");
        }
        if let AppError::Unauthenticated = self {
            // The htmx middleware turns this into `HX-Redirect` for fragment requests.
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .finish();
        }
        let status = self.status_code();
        let message = self.to_string();
        let page = ErrorPage {
            layout: Layout::bare(self.title()).for_error(),
            code: status.as_u16(),
            heading: self.title(),
            message: message.clone(),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {}", status.as_u16(), self.title()));
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8");
        if let AppError::TooManyAttempts { retry_after_secs } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        let mut resp = resp.body(body);
        resp.extensions_mut().insert(ErrorMessage(message));
        resp.extensions_mut().insert(ErrorHeading(self.title()));
        resp
    }
}
