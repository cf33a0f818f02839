//! Downloads streamed from the database a page at a time: the scripts export, the audit CSV and
//! the full text of a comparison. Memory stays that of one page whatever the download's size.
//!
//! Each page is read on the blocking pool with a connection taken for that page alone, so a
//! slow client holds no connection and no transaction between pages. actix asks for the next
//! page only when the previous one has been written out (its write buffer is below 32 KiB), so
//! a client that reads slowly slows the reads down instead of piling pages up in memory.
//!
//! A page that fails (the database went away, a query error) ends the stream with an error:
//! actix then closes the connection without the final empty chunk, so the client sees a
//! truncated download, never a complete-looking one. The status line has been sent by then;
//! what went wrong is in the server's log.

use std::io::Write;

use actix_web::http::header::{self, AcceptEncoding, Encoding, Header};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use flate2::write::GzEncoder;

/// A download's gzip stream, boxed: it moves from page to page inside the stream's state.
type Gzip = Box<GzEncoder<Vec<u8>>>;
use futures_util::Stream;

use crate::db::DbConn;
use crate::error::AppError;
use crate::state::AppState;

/// How a download is sent. It is gzipped here, page by page on the blocking pool, rather than
/// by actix's `Compress`: that one picks brotli for a browser, whose encoder keeps a 4 MiB
/// window and more (about 9 MiB a stream, measured: docs/RELIABILITY.md), where a fast gzip
/// stream keeps about 300 KiB. A client that takes no gzip gets the bytes as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
}

impl Coding {
    /// Gzip when the request's `Accept-Encoding` takes it (and does not refuse it with `q=0`,
    /// or prefer `identity`).
    pub fn accepted_by(req: &impl HttpMessage) -> Coding {
        let gzip = AcceptEncoding::parse(req).is_ok_and(|accept| {
            accept.negotiate([Encoding::gzip(), Encoding::identity()].iter())
                == Some(Encoding::gzip())
        });
        if gzip { Coding::Gzip } else { Coding::Identity }
    }
}

/// Where a download is: the next page to read (with the gzip stream, when it is gzipped), or
/// finished.
enum Step<C> {
    Next(C, Option<Gzip>),
    Done,
}

/// A download read by `next`, one call per page: `next(conn, cursor)` returns the page's bytes
/// and the cursor after it, or `None` when there is nothing more. `builder` has the status
/// and the headers of the response; `what` names the download in the log when a page fails.
pub fn respond<C, F>(
    mut builder: HttpResponseBuilder,
    req: &HttpRequest,
    state: &web::Data<AppState>,
    what: &'static str,
    first: C,
    next: F,
) -> HttpResponse
where
    C: Send + 'static,
    F: Fn(&mut DbConn, C) -> Result<Option<(Vec<u8>, C)>, AppError> + Send + Sync + 'static,
{
    let coding = Coding::accepted_by(req);
    // Set either way, so `Compress` leaves the body alone.
    builder.insert_header((
        header::CONTENT_ENCODING,
        match coding {
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        },
    ));
    builder.insert_header((header::VARY, "accept-encoding"));
    builder.streaming(paged(state, what, coding, first, next))
}

/// The body of [`respond`].
fn paged<C, F>(
    state: &web::Data<AppState>,
    what: &'static str,
    coding: Coding,
    first: C,
    next: F,
) -> impl Stream<Item = Result<Bytes, AppError>> + 'static
where
    C: Send + 'static,
    F: Fn(&mut DbConn, C) -> Result<Option<(Vec<u8>, C)>, AppError> + Send + Sync + 'static,
{
    let pool = state.pool.clone();
    let next = std::sync::Arc::new(next);
    let gzip = (coding == Coding::Gzip)
        .then(|| Box::new(GzEncoder::new(Vec::new(), flate2::Compression::fast())));
    futures_util::stream::unfold(Step::Next(first, gzip), move |step| {
        let (pool, next) = (pool.clone(), next.clone());
        async move {
            let Step::Next(mut cursor, mut gzip) = step else {
                return None;
            };
            loop {
                let (pool, next) = (pool.clone(), next.clone());
                let read = web::block(move || {
                    let encoded = pool
                        .get()
                        .map_err(AppError::from)
                        .and_then(|mut conn| next(&mut conn, cursor))
                        .and_then(|page| encode(page, gzip));
                    if !matches!(encoded, Ok(Encoded::Page(..))) {
                        return_freed_memory();
                    }
                    encoded
                })
                .await
                .map_err(AppError::from)
                .and_then(|page| page);
                match read {
                    // An empty chunk would end a chunked body early: read on instead.
                    Ok(Encoded::Page(bytes, after, g)) if bytes.is_empty() => {
                        (cursor, gzip) = (after, g);
                    }
                    Ok(Encoded::Page(bytes, after, g)) => {
                        return Some((Ok(Bytes::from(bytes)), Step::Next(after, g)));
                    }
                    Ok(Encoded::Last(bytes)) if bytes.is_empty() => return None,
                    Ok(Encoded::Last(bytes)) => return Some((Ok(Bytes::from(bytes)), Step::Done)),
                    Err(e) => {
                        tracing::error!(download = what, error = %e, "download cut short");
                        return Some((Err(e), Step::Done));
                    }
                }
            }
        }
    })
}

/// A page as sent: its bytes (gzipped when `gzip` is there) and what comes after it.
enum Encoded<C> {
    Page(Vec<u8>, C, Option<Gzip>),
    /// The end: what the gzip stream still held, and its trailer.
    Last(Vec<u8>),
}

fn encode<C>(page: Option<(Vec<u8>, C)>, gzip: Option<Gzip>) -> Result<Encoded<C>, AppError> {
    Ok(match (page, gzip) {
        (Some((bytes, after)), None) => Encoded::Page(bytes, after, None),
        (Some((bytes, after)), Some(mut gz)) => {
            gz.write_all(&bytes).map_err(AppError::internal)?;
            // What deflate has produced so far; it keeps the rest of its window for later.
            let out = std::mem::take(gz.get_mut());
            Encoded::Page(out, after, Some(gz))
        }
        (None, None) => Encoded::Last(Vec::new()),
        (None, Some(gz)) => Encoded::Last(gz.finish().map_err(AppError::internal)?),
    })
}

/// Gives the memory freed by a big request back to the system; called when a download ends
/// and after Compare Version. glibc keeps freed small blocks in its arenas and trims only the
/// top of a heap by itself, so the rows and strings of a long download or a page of diffs
/// otherwise stay in the process's RSS after it, scattered between live blocks (measured:
/// 54 MiB five seconds after ten such requests, 28 MiB after `malloc_trim`;
/// docs/RELIABILITY.md). The walk takes a few milliseconds, once per such request.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and releases the allocator's own free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The `---` and `+++` lines of one script in a downloaded diff: `a/` and `b/` paths, as git
/// writes them so that `patch -p1` applies the file, then a tab and which version it is;
/// `/dev/null` for a side without the script.
pub fn diff_labels(path: &str, old: Option<String>, new: Option<String>) -> (String, String) {
    let label = |side: &str, version: Option<String>| match version {
        Some(v) => format!("{side}/{path}\t{v}"),
        None => "/dev/null".to_owned(),
    };
    (label("a", old), label("b", new))
}

/// A file name for the diff of script `path`: its last part, then `what`.
pub fn diff_filename(path: &str, what: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    format!("{base}-{what}.diff")
}

/// The start of a response carrying a diff as a plain-text file named `filename` (made of a
/// script path and numbers, which cannot hold a quote).
pub fn diff_file(filename: &str) -> HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ));
    builder
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// An app state whose pool the pages below are handed but do not use.
    fn state(dir: &tempfile::TempDir) -> web::Data<AppState> {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        web::Data::new(AppState {
            pool: crate::db::connect(&url, 1).expect("pool"),
            hasher: crate::password::Hasher::new(8),
            queries: Default::default(),
            inline_reads: false,
            private_webhooks: crate::domain::PrivateDestinations::Refused,
            mail: None,
            insights: crate::recent::Recent::new(std::time::Duration::ZERO, 0),
        })
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let coding = |accept: &str| {
            let req = actix_web::test::TestRequest::default()
                .insert_header((header::ACCEPT_ENCODING, accept))
                .to_http_request();
            Coding::accepted_by(&req)
        };
        assert_eq!(coding("gzip, deflate, br"), Coding::Gzip);
        assert_eq!(coding("br;q=1.0, GZIP;q=0.5"), Coding::Gzip);
        assert_eq!(coding("br, zstd"), Coding::Identity);
        assert_eq!(coding("gzip;q=0, br"), Coding::Identity);
        assert_eq!(coding(""), Coding::Identity);
    }

    #[actix_web::test]
    async fn pages_come_in_order_empty_ones_skipped_and_an_error_ends_the_stream() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = state(&dir);
        let body = paged(&state, "test", Coding::Identity, 0u32, |_conn, n| match n {
            0 | 2 => Ok(Some((format!("page {n};").into_bytes(), n + 1))),
            1 => Ok(Some((Vec::new(), n + 1))),
            3 => Err(AppError::internal(anyhow::anyhow!(
                "the database went away"
            ))),
            _ => panic!("read after an error"),
        });
        let items: Vec<Result<Bytes, AppError>> = body.collect().await;
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().ok(), Some(&Bytes::from("page 0;")));
        assert_eq!(items[1].as_ref().ok(), Some(&Bytes::from("page 2;")));
        assert!(items[2].is_err());
    }

    #[actix_web::test]
    async fn a_gzipped_download_decodes_to_its_pages() {
        use std::io::Read as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let state = state(&dir);
        let page = |n: u32| format!("line {n} of a page that repeats itself\n").repeat(2_000);
        let body = paged(&state, "test", Coding::Gzip, 0u32, move |_conn, n| {
            Ok((n < 50).then(|| (page(n).into_bytes(), n + 1)))
        });
        let items: Vec<Result<Bytes, AppError>> = body.collect().await;
        assert!(items.len() > 1, "sent as it is made, not at the end");
        let gz: Vec<u8> = items
            .into_iter()
            .flat_map(|b| b.unwrap().to_vec())
            .collect();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, (0..50).map(page).collect::<String>());
    }
}
