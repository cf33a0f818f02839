//! `AppError`: the error type of handlers *and* of the rule-holding data functions in `db::models`
//! (a refused transition is an `AppError::Conflict` or `Forbidden` raised inside the transaction).
//!
//! It says what went wrong, not how to show it: the HTTP side (status codes, the error page, the
//! toast for htmx requests) lives in `routes::error_page`, so the data layer depends on nothing
//! above it.

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
    /// A known address asked with a method it does not take (the API's 405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A state-changing request without a valid CSRF token, or from another site.
    #[error(
        "This form has expired or did not come from releasedesk. Reload the page and try again."
    )]
    Csrf,
    /// A request body over its limit (forms: `domain::limits::MAX_FORM_BYTES`).
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
            crate::domain::limits::MAX_FORM_BYTES / (1024 * 1024)
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
