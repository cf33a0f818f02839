//! Static files, embedded in the binary and served with long-lived caching: each URL carries a
//! content hash (`/static/app.css?v=…`), so a new build changes the URL and old copies never go
//! stale. The vendored htmx file also has its version in the name.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

pub struct Asset {
    pub name: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    pub etag: String,
    /// `/static/<name>?v=<hash>`, made once: every page links four assets.
    pub url: String,
}

pub const HTMX: &str = "vendor/htmx-4.0.1.min.js";
/// Subresource integrity of the vendored htmx (static/README.md says how it was computed).
pub const HTMX_SRI: &str =
    "sha384-Qp9rdC8H7EqOoX+nR0P3RPG2Noji+qdwJlGpfzwQJsfOpp3sGwIdSP9xO3+UlEhn";

fn asset(name: &'static str, bytes: &'static [u8], content_type: &'static str) -> Asset {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let etag = format!("{:016x}", h.finish());
    Asset {
        name,
        bytes,
        content_type,
        url: format!("/static/{name}?v={}", &etag[..10]),
        etag,
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        asset(
            "app.css",
            include_bytes!("../../static/app.css"),
            "text/css; charset=utf-8",
        ),
        asset(
            "app.js",
            include_bytes!("../../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        asset(
            "favicon.svg",
            include_bytes!("../../static/favicon.svg"),
            "image/svg+xml",
        ),
        asset(
            HTMX,
            include_bytes!("../../static/vendor/htmx-4.0.1.min.js"),
            "text/javascript; charset=utf-8",
        ),
    ]
});

/// The cache-busting URL of an embedded asset (`name` is one of the list above).
pub fn url(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map_or("/static/missing", |a| a.url.as_str())
}

/// `GET /static/{path}`.
pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == path.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found");
    };
    let etag = format!("\"{}\"", asset.etag);
    let cache = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return HttpResponse::NotModified()
            .insert_header(cache)
            .insert_header((header::ETAG, etag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(cache)
        .insert_header((header::ETAG, etag))
        .body(asset.bytes)
}
