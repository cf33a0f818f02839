//! How an `AppError` answers over HTTP: one status code per kind of refusal, the same for every
//! route; a full error page in the product's look (inside the viewer's navigation once
//! `middleware::error_pages` knows them); and the `ErrorMessage` extension that
//! `middleware::htmx_errors` turns into a toast. Internal errors are logged with their cause and
//! shown without it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;
use crate::routes::layout::Layout;

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
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
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
                .insert_header((header::LOCATION, crate::paths::login()))
                .finish();
        }
        let status = self.status_code();
        let message = self.to_string();
        let page = ErrorPage {
            layout: Layout::bare(title(self)).for_error(),
            code: status.as_u16(),
            heading: title(self),
            message: message.clone(),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {}", status.as_u16(), title(self)));
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8");
        if let AppError::TooManyAttempts { retry_after_secs } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        let mut resp = resp.body(body);
        resp.extensions_mut().insert(ErrorMessage(message));
        resp.extensions_mut().insert(ErrorHeading(title(self)));
        resp
    }
}

/// The heading of `error`'s page.
fn title(error: &AppError) -> &'static str {
    match error {
        AppError::NotFound => "Not found",
        AppError::Unauthenticated => "Sign in",
        AppError::Forbidden(_) | AppError::Csrf => "Not allowed",
        AppError::BadRequest(_) => "Bad request",
        AppError::MethodNotAllowed(_) => "Not allowed here",
        AppError::TooLarge(_) => "Too large",
        AppError::Field { .. } => "Please check the form",
        AppError::Conflict(_) => "Could not complete",
        AppError::TooManyAttempts { .. } => "Too many attempts",
        AppError::Internal(_) => "Server error",
    }
}
