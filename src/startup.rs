//! Builds the application: database pool and migrations, the session key, middleware, and the
//! one route table of the product (one `web::scope` per area). Tests drive the real server
//! through `Application::build` on port 0.

use std::net::TcpListener;

use actix_session::SessionMiddleware;
use actix_session::config::PersistentSession;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Server;
use actix_web::middleware::{Compress, Logger, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use base64::Engine;

use crate::api;
use crate::auth::csrf::{self, AllowedOrigin};
use crate::config::Settings;
use crate::db::{self, Pool};
use crate::domain::PrivateDestinations;
use crate::metrics::{self, Metrics};
use crate::middleware as mw;
use crate::password::Hasher;
use crate::routes;
use crate::state::AppState;

pub struct Application {
    server: Server,
    port: u16,
    pub pool: Pool,
    /// The job lease of this instance's release worker, or `None` when it runs none (jobs are
    /// claimed safely by several instances). The worker starts with `run_until_stopped`.
    worker_lease: Option<i64>,
    /// Whether this instance's worker may send webhooks to internal addresses.
    private_webhooks: PrivateDestinations,
    queries: db::QueryCounter,
    /// Where notification email goes, when SMTP is configured; it is sent by a thread started
    /// beside the worker (`worker::notify::spawn_sender`).
    mail: Option<crate::worker::notify::Mail>,
    /// Where workspace hook messages link to; they are sent by a thread started beside the
    /// worker (`worker::hooks::spawn_sender`), SMTP or not.
    hooks: crate::worker::hooks::HookConfig,
    /// Keeps the SQLite WAL from growing under steady load (`None` on PostgreSQL).
    wal_checkpointer: Option<db::WalCheckpointer>,
}

/// The session cookie's signing and encryption key: from the setting, or generated once and kept
/// in the database, so restarts keep people signed in and instances share it.
fn session_key(settings: &Settings, pool: &Pool) -> anyhow::Result<Key> {
    let encoded = match &settings.session_key {
        Some(k) => k.clone(),
        None => {
            let mut conn = pool.get()?;
            db::models::secrets::get_or_create(&mut conn, "session_key", || {
                let bytes: [u8; 64] = rand::random();
                base64::engine::general_purpose::STANDARD.encode(bytes)
            })?
        }
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .context("RELEASEDESK_SESSION_KEY must be base64")?;
    anyhow::ensure!(
        bytes.len() >= 64,
        "RELEASEDESK_SESSION_KEY must encode at least 64 bytes"
    );
    Ok(Key::from(&bytes))
}

impl Application {
    /// Connects, migrates, binds the listener and builds (but does not yet run) the server.
    pub fn build(settings: &Settings) -> anyhow::Result<Application> {
        let queries = db::QueryCounter::default();
        let pool_size = settings.pool_size();
        let pool = db::connect_counted(&settings.database_url, pool_size, queries.clone())?;
        let inline_reads = matches!(*pool.get()?, db::DbConn::Sqlite(_));
        db::migrate(&mut *pool.get()?)?;
        let key = session_key(settings, &pool)?;
        let private_webhooks = PrivateDestinations::allowed_if(settings.allow_private_webhooks);
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        // Links in email and hook messages start with the public origin, or this server's own
        // address.
        let links_origin = settings.public_origin.clone().unwrap_or_else(|| {
            let ip = listener.local_addr().map(|a| a.ip()).ok();
            match ip {
                Some(ip) if !ip.is_unspecified() => format!("http://{ip}:{port}"),
                _ => format!("http://127.0.0.1:{port}"),
            }
        });
        let hooks = crate::worker::hooks::HookConfig::new(&links_origin, private_webhooks);
        let mail = match &settings.smtp {
            Some(smtp) => {
                let origin = &links_origin;
                let mail =
                    crate::worker::notify::Mail::new(smtp.clone(), &settings.mail_from, origin)
                        .map_err(|e| anyhow::anyhow!(e))?;
                Some(mail)
            }
            None => None,
        };

        let state = web::Data::new(AppState {
            pool: pool.clone(),
            hasher: Hasher::new(settings.argon2_memory_kib),
            queries: queries.clone(),
            inline_reads,
            private_webhooks,
            mail: mail.clone(),
            insights: crate::recent::Recent::new(
                std::time::Duration::from_secs(settings.insights_cache_seconds),
                crate::state::INSIGHTS_MEMO_CAP,
            ),
        });
        let metrics = web::Data::new(Metrics::default());
        let origin = web::Data::new(AllowedOrigin(settings.public_origin.clone()));
        let secure = settings.secure_cookies;
        let api_limits = web::Data::new(api::RateLimiter::new(settings.api_rate_limit));
        let api_waits = web::Data::new(api::Waits::default());
        let mut server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                .cookie_name("releasedesk_session".into())
                .cookie_secure(secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .session_lifecycle(
                    PersistentSession::default().session_ttl(CookieDuration::hours(12)),
                )
                .build();
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(origin.clone())
                .app_data(routes::form_config())
                .app_data(routes::query_config())
                .app_data(routes::path_config())
                .app_data(api_limits.clone())
                .app_data(api_waits.clone())
                .configure(api::configure)
                .configure(routes::configure)
                // Outermost last: logging and counters see every answer, the session wraps CSRF.
                .wrap(from_fn(csrf::guard))
                .wrap(from_fn(mw::error_pages))
                .wrap(session)
                .wrap(from_fn(mw::htmx_errors))
                .wrap(mw::security_headers(secure))
                .wrap(from_fn(mw::gzip_whole_bodies))
                .wrap(Compress::default())
                .wrap(from_fn(metrics::observe_requests))
                // Paths only: query strings can carry search terms people consider private.
                .wrap(Logger::new("%a %U %s %b %Dms").exclude("/healthz"))
        })
        .listen(listener)?
        // `serve` owns SIGTERM/SIGINT (see there); tests stop the server through its handle.
        .disable_signals();
        let workers = settings.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |w| w.max(1),
        );
        // Database work runs on each worker's blocking pool, 512 threads by default. With more
        // threads than pooled connections the extra ones only wait in r2d2, and 32 requests in
        // flight kept as many threads switching and contending for malloc's arenas; sized to
        // the connection pool, pages serve more (docs/BENCHMARKS.md).
        let blocking = (pool_size as usize).div_ceil(workers).max(2);
        server = server
            .workers(workers)
            .worker_max_blocking_threads(blocking);
        let wal_checkpointer = db::WalCheckpointer::spawn(&pool);
        Ok(Application {
            server: server.run(),
            port,
            pool,
            worker_lease: settings.run_worker.then_some(settings.job_lease_seconds),
            private_webhooks,
            mail,
            hooks,
            queries,
            wal_checkpointer,
        })
    }

    /// The statements this instance's pool has run so far.
    pub fn queries(&self) -> db::QueryCounter {
        self.queries.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the release worker and serves until stopped; then stops the worker, which
    /// finishes the task or component in flight and hands its job back to the queue.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            pool,
            worker_lease,
            private_webhooks,
            mail,
            hooks,
            wal_checkpointer,
            ..
        } = self;
        // Email goes out from instances that run the worker (a web-only instance sends none).
        let sender = worker_lease.zip(mail).map(|(lease, mail)| {
            crate::worker::notify::spawn_sender(pool.clone(), mail.with_lease(lease))
        });
        // Hook messages likewise go out wherever the worker runs, with the same lease.
        let hook_sender = worker_lease
            .map(|lease| crate::worker::hooks::spawn_sender(pool.clone(), hooks.with_lease(lease)));
        // Waits for approval past their deadline expire wherever the worker runs.
        let sweeper = worker_lease.map(|_| crate::worker::expiry::spawn_sweeper(pool.clone()));
        let worker =
            worker_lease.map(|lease| crate::worker::Worker::spawn(pool, lease, private_webhooks));
        let result = server.await;
        if let Some(mut worker) = worker {
            // Joining blocks until the step in flight is recorded; off the async workers.
            let _ = actix_web::rt::task::spawn_blocking(move || worker.stop()).await;
        }
        if let Some(mut sender) = sender {
            let _ = actix_web::rt::task::spawn_blocking(move || sender.stop()).await;
        }
        if let Some(mut sender) = hook_sender {
            let _ = actix_web::rt::task::spawn_blocking(move || sender.stop()).await;
        }
        if let Some(mut sweeper) = sweeper {
            let _ = actix_web::rt::task::spawn_blocking(move || sweeper.stop()).await;
        }
        drop(wal_checkpointer);
        result
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Starts the server for `serve` on actix's own runtime. SIGTERM and SIGINT are listened for
/// before the worker starts, so a signal at any moment stops gracefully: open requests finish,
/// then the worker finishes what it is applying and hands its job back.
pub fn serve(app: Application) -> anyhow::Result<()> {
    use actix_web::rt::signal::unix::{SignalKind, signal};
    actix_web::rt::System::new().block_on(async move {
        for (kind, name) in [
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::interrupt(), "SIGINT"),
        ] {
            let mut received = signal(kind)?;
            let handle = app.server_handle();
            actix_web::rt::spawn(async move {
                if received.recv().await.is_some() {
                    tracing::info!("{name}: finishing open requests and the job in flight");
                    handle.stop(true).await;
                }
            });
        }
        app.run_until_stopped().await
    })?;
    Ok(())
}
