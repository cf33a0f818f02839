//! CSRF protection for every state-changing request (POST, PUT, PATCH, DELETE), sign-in included.
//!
//! Two checks, in order:
//! 1. The request must come from this site: `Sec-Fetch-Site` (when the browser sends it) is
//!    `same-origin` or `none`, and `Origin` (when present) is this server's origin.
//! 2. It must carry the session's synchronizer token: the `X-CSRF-Token` header (htmx requests,
//!    set once on `<body>` with `hx-headers:inherited`), or the `csrf_token` field of an
//!    url-encoded form, or, for multipart uploads only, the `csrf_token` query parameter.
//!    Tokens are compared in constant time.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{self, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use crate::domain::limits::MAX_FORM_BYTES;
use crate::error::AppError;

/// The configured public origin (`RELEASEDESK_PUBLIC_ORIGIN`), if any.
#[derive(Clone, Debug, Default)]
pub struct AllowedOrigin(pub Option<String>);

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn header_str<'a>(req: &'a ServiceRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Whether `Sec-Fetch-Site` and `Origin` say the request came from this site.
fn same_site(req: &ServiceRequest) -> bool {
    if let Some(site) = header_str(req, "sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    let Some(origin) = header_str(req, "origin") else {
        return true;
    };
    let configured = req
        .app_data::<web::Data<AllowedOrigin>>()
        .and_then(|o| o.0.clone());
    match configured {
        Some(expected) => origin.trim_end_matches('/') == expected.trim_end_matches('/'),
        None => {
            // Without a configured origin, the Origin's host must be the Host we were asked on.
            let host = req.connection_info().host().to_owned();
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
        }
    }
}

fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}

fn refuse(req: ServiceRequest, error: AppError) -> ServiceResponse<BoxBody> {
    let response: HttpResponse = error.error_response();
    req.into_response(response)
}

/// The middleware (`actix_web::middleware::from_fn(csrf::guard)`), inside the session layer.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // The API (`crate::api`) reads no cookie: only its bearer token says who asks, which a
    // browser never sends on its own, so there is nothing for another site to forge.
    if !is_state_changing(req.method()) || req.path().starts_with(crate::api::PREFIX_SLASH) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if !same_site(&req) {
        tracing::warn!(path = %req.path(), "refused a cross-site state-changing request");
        return Ok(refuse(req, AppError::Csrf));
    }
    let Some(expected) = crate::auth::session::existing_csrf_token(&req.get_session()) else {
        return Ok(refuse(req, AppError::Csrf));
    };

    let mut given = header_str(&req, "x-csrf-token").map(str::to_owned);
    if given.is_none() {
        let content_type = header_str(&req, header::CONTENT_TYPE.as_str())
            .unwrap_or("")
            .to_owned();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let declared = header_str(&req, header::CONTENT_LENGTH.as_str())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > MAX_FORM_BYTES) {
                // Said up front: refuse before reading any of it (the client then gets the
                // answer instead of a connection reset while it is still sending).
                return Ok(refuse(req, AppError::form_too_large()));
            }
            // Read the body to find the field, then put it back for the handler's extractor.
            let mut payload = req.take_payload();
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    return Ok(refuse(req, AppError::form_too_large()));
                }
                body.extend_from_slice(&chunk);
            }
            let body = body.freeze();
            given = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|fields| {
                    fields
                        .into_iter()
                        .find(|(k, _)| k == "csrf_token")
                        .map(|(_, v)| v)
                });
            req.set_payload(Payload::from(body));
        } else if content_type.starts_with("multipart/form-data") {
            given = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .ok()
                .and_then(|q| {
                    q.into_iter()
                        .find(|(k, _)| k == "csrf_token")
                        .map(|(_, v)| v)
                });
        }
    }
    match given {
        Some(token) if tokens_match(&expected, &token) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
        _ => {
            tracing::warn!(path = %req.path(), "refused a request without a valid CSRF token");
            Ok(refuse(req, AppError::Csrf))
        }
    }
}
