//! Errors of the API as RFC 9457 problem documents (`application/problem+json`): `type` (a
//! `urn:releasedesk:problem:…` name per kind), `title`, `status`, `detail` (the same message the
//! page would show) and, for a refused field, `errors` with one message per field. Internal
//! errors are logged in full and answered with a generic detail.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// A problem document (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:releasedesk:problem:` and the kind: `not-found`, `unauthenticated`, `forbidden`,
    /// `bad-request`, `method-not-allowed`, `conflict`, `invalid`, `too-large`, `rate-limited`,
    /// `internal`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One message per refused field (`invalid` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// A refused field and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// An API error: an `AppError` answered as a problem document, or several refused fields.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// Several fields refused at once (a body checked field by field).
    Fields(Vec<(String, String)>),
    /// Too many requests for this token; retry after this many seconds.
    RateLimited(u64),
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::App(e.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::App(e) => e.fmt(f),
            ApiError::Fields(fields) => write!(f, "{} field(s) refused", fields.len()),
            ApiError::RateLimited(secs) => write!(f, "rate limited for {secs} s"),
        }
    }
}

/// The kind, title and status of an error.
fn kind(e: &ApiError) -> (&'static str, &'static str, StatusCode) {
    match e {
        ApiError::Fields(_) => ("invalid", "Invalid input", StatusCode::UNPROCESSABLE_ENTITY),
        ApiError::RateLimited(_) => (
            "rate-limited",
            "Too many requests",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        ApiError::App(e) => match e {
            AppError::NotFound => ("not-found", "Not found", StatusCode::NOT_FOUND),
            AppError::Unauthenticated => (
                "unauthenticated",
                "Authentication required",
                StatusCode::UNAUTHORIZED,
            ),
            AppError::Forbidden(_) | AppError::Csrf => {
                ("forbidden", "Not allowed", StatusCode::FORBIDDEN)
            }
            AppError::BadRequest(_) => ("bad-request", "Bad request", StatusCode::BAD_REQUEST),
            AppError::MethodNotAllowed(_) => (
                "method-not-allowed",
                "Method not allowed",
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            AppError::Conflict(_) => ("conflict", "Conflict", StatusCode::CONFLICT),
            AppError::Field { .. } => {
                ("invalid", "Invalid input", StatusCode::UNPROCESSABLE_ENTITY)
            }
            AppError::TooLarge(_) => ("too-large", "Too large", StatusCode::PAYLOAD_TOO_LARGE),
            AppError::TooManyAttempts { .. } => (
                "rate-limited",
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            AppError::Internal(_) => (
                "internal",
                "Internal error",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        },
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        kind(self).2
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::App(AppError::Internal(cause)) = self {
            tracing::error!(error = %format!("{cause:#}"), "internal error (api)");
        }
        let (kind_name, title, status) = kind(self);
        let (detail, errors) = match self {
            ApiError::App(AppError::Field { field, message }) => (
                message.clone(),
                vec![FieldProblem {
                    field: (*field).to_owned(),
                    message: message.clone(),
                }],
            ),
            ApiError::App(AppError::Unauthenticated) => (
                "Send a valid access token: `Authorization: Bearer rd_…` (create one on your \
                 Account page). It may have expired or been revoked."
                    .to_owned(),
                Vec::new(),
            ),
            ApiError::App(e) => (e.to_string(), Vec::new()),
            ApiError::Fields(fields) => (
                fields
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                fields
                    .iter()
                    .map(|(f, m)| FieldProblem {
                        field: f.clone(),
                        message: m.clone(),
                    })
                    .collect(),
            ),
            ApiError::RateLimited(secs) => (
                format!("This token sent too many requests; retry in {secs} s."),
                Vec::new(),
            ),
        };
        let problem = Problem {
            kind: format!("urn:releasedesk:problem:{kind_name}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::App(AppError::Unauthenticated) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"releasedesk\""));
            }
            ApiError::RateLimited(secs)
            | ApiError::App(AppError::TooManyAttempts {
                retry_after_secs: secs,
            }) => {
                res.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}
