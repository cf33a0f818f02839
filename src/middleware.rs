//! Cross-cutting response handling: security headers on every response, htmx-aware error
//! rendering (a toast instead of a full page, `HX-Redirect` instead of a 303 to sign-in),
//! and gzip of whole text bodies.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpResponse};
use askama::Template;

use crate::auth::next::SafeNext;
use crate::routes::download::Coding;
use crate::routes::error_page::{ErrorHeading, ErrorMessage};

/// Strict CSP: no inline script or style, no eval, nothing from other origins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn security_headers(tls: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
    if tls {
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
    }
}

#[derive(Template)]
#[template(path = "_toast.html")]
struct Toast<'a> {
    kind: &'a str,
    text: &'a str,
}

/// For htmx requests, turns an error page into a toast appended to `#toasts`, and a redirect to
/// the sign-in page into `HX-Redirect`, so a fragment swap never puts a whole page into a table.
pub async fn htmx_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_htmx = req.headers().contains_key("hx-request");
    let wanted = (req.method() == actix_web::http::Method::GET)
        .then(|| req.uri().path_and_query().map(|p| p.as_str().to_owned()))
        .flatten();
    let mut res = next.call(req).await?.map_into_boxed_body();
    if !is_htmx {
        // Sent to sign in from a page: come back to it afterwards, if it is a `next` the sign-in
        // page would follow.
        if let Some(wanted) = wanted.as_deref().and_then(SafeNext::parse)
            && res.status() == actix_web::http::StatusCode::SEE_OTHER
            && res
                .headers()
                .get(header::LOCATION)
                .is_some_and(|l| l.as_bytes() == crate::paths::login().as_bytes())
        {
            let next = serde_urlencoded::to_string([("next", wanted.as_str())]).unwrap_or_default();
            if let Ok(location) =
                HeaderValue::from_str(&format!("{}?{next}", crate::paths::login()))
            {
                res.headers_mut().insert(header::LOCATION, location);
            }
        }
        return Ok(res);
    }
    let status = res.status();
    if status == actix_web::http::StatusCode::SEE_OTHER
        && res
            .headers()
            .get(header::LOCATION)
            .is_some_and(|l| l.as_bytes().starts_with(crate::paths::login().as_bytes()))
    {
        let (req, _) = res.into_parts();
        let resp = HttpResponse::NoContent()
            .insert_header(("HX-Redirect", crate::paths::login()))
            .finish();
        return Ok(ServiceResponse::new(req, resp));
    }
    let message = res.response().extensions().get::<ErrorMessage>().cloned();
    match message {
        Some(ErrorMessage(text)) if status.is_client_error() || status.is_server_error() => {
            let html = Toast {
                kind: "toast-error",
                text: &text,
            }
            .render()
            .unwrap_or_default();
            let (req, old) = res.into_parts();
            let mut resp = HttpResponse::build(status);
            for (name, value) in old.headers() {
                if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                    resp.append_header((name.clone(), value.clone()));
                }
            }
            let resp = resp
                .content_type("text/html; charset=utf-8")
                .insert_header(("HX-Retarget", HeaderValue::from_static("#toasts")))
                .insert_header(("HX-Reswap", HeaderValue::from_static("beforeend")))
                .body(html);
            Ok(ServiceResponse::new(req, resp))
        }
        _ => Ok(res),
    }
}

/// Draws a client-error page (400, 403, 404, 409, …) of a page request again inside the signed-in
/// viewer's navigation (and the workspace's, when the path names one the viewer may open), so an
/// error never strands them on a bare page. Sits inside the session middleware, which it needs;
/// for anyone not signed in, for server errors and for htmx requests the page stays as it was.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    use actix_web::FromRequest;

    let is_htmx = req.headers().contains_key("hx-request");
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if is_htmx || !status.is_client_error() {
        return Ok(res);
    }
    let (Some(ErrorMessage(message)), Some(ErrorHeading(heading))) = (
        res.response().extensions().get::<ErrorMessage>().cloned(),
        res.response().extensions().get::<ErrorHeading>().copied(),
    ) else {
        return Ok(res);
    };
    let http = res.request().clone();
    let Ok(current) = crate::auth::CurrentUser::extract(&http).await else {
        return Ok(res);
    };
    let Ok(state) = crate::auth::extract::state(&http) else {
        return Ok(res);
    };
    let slug = http
        .path()
        .strip_prefix(crate::paths::workspaces())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split('/').next())
        .filter(|s| !s.is_empty() && *s != "switch")
        .map(str::to_owned);
    let viewer = crate::routes::layout::Viewer::of(&current);
    let layout = crate::state::with_read_conn(&state, move |conn| {
        let ws = slug
            .and_then(|slug| crate::db::models::workspaces::access(conn, &viewer.user, &slug).ok());
        crate::routes::layout::Layout::build(
            conn,
            &viewer,
            heading,
            "",
            ws.as_ref().map(|(w, a)| (w, a)),
        )
    })
    .await;
    let Some(html) = layout.ok().and_then(|layout| {
        crate::routes::error_page::error_page(layout, status.as_u16(), heading, message.clone())
    }) else {
        return Ok(res);
    };
    let (req, old) = res.into_parts();
    let mut resp = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_LENGTH {
            resp.append_header((name.clone(), value.clone()));
        }
    }
    let mut resp = resp.body(html);
    resp.extensions_mut().insert(ErrorMessage(message));
    resp.extensions_mut().insert(ErrorHeading(heading));
    Ok(ServiceResponse::new(req, resp))
}

/// Smallest and largest whole bodies `gzip_whole_bodies` compresses.
const GZIP_MIN_BYTES: u64 = 1024;
const GZIP_MAX_BYTES: u64 = 4 << 20;

thread_local! {
    /// One gzip stream per worker thread, reset for each body: a fresh one allocates and clears
    /// its tables for every response, a measurable share of a gzipped page's CPU
    /// (docs/BENCHMARKS.md, *crates for inline gzip and `/metrics`*).
    static GZIP: std::cell::RefCell<flate2::Compress> =
        std::cell::RefCell::new(flate2::Compress::new_gzip(flate2::Compression::fast(), 15));
}

/// `bytes` as one gzip member (header, deflate and trailer all written by zlib-rs).
fn gzip(bytes: &[u8]) -> Result<Vec<u8>, flate2::CompressError> {
    GZIP.with_borrow_mut(|gzip| {
        gzip.reset();
        let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
        loop {
            let read = usize::try_from(gzip.total_in()).unwrap_or(usize::MAX);
            let rest = bytes.get(read..).unwrap_or_default();
            match gzip.compress_vec(rest, &mut out, flate2::FlushCompress::Finish)? {
                flate2::Status::StreamEnd => return Ok(out),
                // The output is full: give it room and go on.
                _ => out.reserve(out.capacity().max(4096)),
            }
        }
    })
}

/// Gzips a whole text body (pages, fragments, CSV, JSON) on the worker thread, at the fast
/// level. actix's `Compress` hands every chunk over 1 KiB to the blocking pool and back, which
/// cost the Tasks tab a third of its throughput (docs/BENCHMARKS.md, *gzip on the worker
/// thread*). `Compress`, outside this, still handles what this leaves: streams,
/// brotli/zstd-only clients. A response that already has a `Content-Encoding` is left alone.
pub async fn gzip_whole_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let wants = Coding::accepted_by(&req) == Coding::Gzip;
    let res = next.call(req).await?;
    let text = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("text/")
                || ct.starts_with("application/json")
                || ct.starts_with("application/javascript")
                || ct.starts_with("image/svg+xml")
        });
    let sized = matches!(
        res.response().body().size(),
        actix_web::body::BodySize::Sized(n) if (GZIP_MIN_BYTES..=GZIP_MAX_BYTES).contains(&n)
    );
    if !wants || !text || !sized || res.headers().contains_key(header::CONTENT_ENCODING) {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        Err(body) => {
            return Ok(ServiceResponse::new(
                req,
                head.set_body(body).map_into_boxed_body(),
            ));
        }
    };
    let Ok(gzipped) = gzip(&bytes) else {
        return Ok(ServiceResponse::new(
            req,
            head.set_body(BoxBody::new(bytes)),
        ));
    };
    let headers = head.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(gzipped)),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn gzip_bodies_decode_to_the_original_with_a_reused_state() {
        use std::io::Read as _;
        let page = "<tr><td>etl/daily_orders_001234.sql</td></tr>\n".repeat(2000);
        let noise: String = (0..200_000u32)
            .map(|i| char::from(b'!' + (i.wrapping_mul(2_654_435_761) >> 25) as u8 % 90))
            .collect();
        for body in [page.as_str(), noise.as_str(), "x", page.as_str()] {
            let gz = super::gzip(body.as_bytes()).unwrap();
            let mut back = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut back)
                .unwrap();
            assert_eq!(back, body);
        }
    }
}
