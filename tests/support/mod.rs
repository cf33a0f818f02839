//! Test support: spawn the real application on a free port with its own fresh database
//! (a temporary SQLite file, or a new PostgreSQL database when `RELEASEDESK_TEST_DATABASE_URL`
//! is set), the demo users, and a cookie-keeping client with one helper per kind of request.

#![allow(dead_code)]

pub mod actions;
pub mod api;
pub mod browser;
pub mod fixtures;
pub mod routes;
pub mod smtp;

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};
use releasedesk::config::Settings;
use releasedesk::db::{DbConn, Pool};
use releasedesk::password::Hasher;
use releasedesk::startup::Application;

pub const PASSWORD: &str = "demo-password-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    /// The app's database, for a second process (the real binary) to share.
    pub database_url: String,
    pub pool: Pool,
    pub backend: Backend,
    /// Statements run by the app's pool so far (`db::QueryCounter`).
    pub queries: releasedesk::db::QueryCounter,
    handle: actix_web::dev::ServerHandle,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn postgres_admin_url() -> Option<String> {
    match std::env::var("RELEASEDESK_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("RELEASEDESK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "RELEASEDESK_REQUIRE_POSTGRES=1 but RELEASEDESK_TEST_DATABASE_URL is not set"
                );
            }
            None
        }
    }
}

/// `postgres://u@h:p/db?x` with the database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

impl TestApp {
    /// A running app on `backend`, or `None` when PostgreSQL is not configured (the test then
    /// says so and passes, unless `RELEASEDESK_REQUIRE_POSTGRES=1`).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like `spawn`, with the settings adjusted first (e.g. no release worker).
    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let (database_url, dir, pg) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let Some(admin) = postgres_admin_url() else {
                    eprintln!("skipped on PostgreSQL: RELEASEDESK_TEST_DATABASE_URL is not set");
                    return None;
                };
                let name = format!(
                    "rd_test_{}_{}_{}",
                    std::process::id(),
                    n,
                    rand::random::<u32>()
                );
                let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("cannot reach PostgreSQL at RELEASEDESK_TEST_DATABASE_URL: {e}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create database");
                (with_database(&admin, &name), None, Some((admin, name)))
            }
        };
        let mut settings = Settings::new("127.0.0.1:0", database_url.clone());
        settings.workers = Some(1);
        settings.pool_size = Some(4);
        settings.argon2_memory_kib = 256;
        // The tests' webhook receivers listen on 127.0.0.1; tests/webhooks.rs turns this off.
        settings.allow_private_webhooks = true;
        adjust(&mut settings);
        let app = tokio::task::spawn_blocking(move || Application::build(&settings))
            .await
            .expect("join")
            .expect("build application");
        let base = format!("http://127.0.0.1:{}", app.port());
        let pool = app.pool.clone();
        let queries = app.queries();
        let handle = app.server_handle();
        tokio::spawn(app.run_until_stopped());
        Some(TestApp {
            base,
            database_url,
            pool,
            backend,
            queries,
            handle,
            _dir: dir,
            pg,
        })
    }

    /// Seeds the demo users and workspaces (password `PASSWORD`).
    pub async fn with_demo(self) -> Self {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().expect("connection");
            assert!(releasedesk::demo::seed(&mut conn, &Hasher::new(256), PASSWORD).expect("seed"));
        })
        .await
        .expect("join");
        self
    }

    /// Runs `f` with a database connection (for setting up state and checking rows).
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> T + Send + 'static,
    ) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().expect("connection")))
            .await
            .expect("join")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client with its own cookie jar that does not follow redirects.
    pub fn client(&self) -> Client {
        self.client_from(reqwest::Client::builder())
    }

    fn client_from(&self, builder: reqwest::ClientBuilder) -> Client {
        let http = builder
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Client {
            http,
            base: self.base.clone(),
        }
    }

    /// A client signed in as `username`.
    pub async fn signed_in(&self, username: &str) -> Client {
        self.sign_in(self.client(), username).await
    }

    /// A client signed in as `username` that opens a new connection for every request. For
    /// thousands of hostile requests in a row: a reused keep-alive connection that the server
    /// closes as the next request goes out fails that request on the client side
    /// (`IncompleteMessage`), which says nothing about the server's answer.
    pub async fn signed_in_on_fresh_connections(&self, username: &str) -> Client {
        let builder = reqwest::Client::builder().pool_max_idle_per_host(0);
        self.sign_in(self.client_from(builder), username).await
    }

    async fn sign_in(&self, client: Client, username: &str) -> Client {
        let resp = client.login(username, PASSWORD).await;
        assert_eq!(
            resp.status, 303,
            "sign-in as {username} failed: {}",
            resp.body
        );
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(handle.stop(false));
        if let Some((admin, name)) = self.pg.take() {
            // Another thread: this may run inside the tokio runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(mut conn) = PgConnection::establish(&admin) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            })
            .join();
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }
    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }
    /// Texts of the elements matching a CSS selector.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(selector).expect("selector");
        self.html()
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
    pub fn has(&self, selector: &str) -> bool {
        !self.texts(selector).is_empty()
    }
    /// The `value` attribute of the first element matching `selector`.
    pub fn value(&self, selector: &str) -> Option<String> {
        let sel = scraper::Selector::parse(selector).expect("selector");
        self.html()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned))
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

async fn read(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Resp {
        status,
        headers,
        body,
    }
}

impl Client {
    pub async fn get(&self, path: &str) -> Resp {
        read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn get_htmx(&self, path: &str) -> Resp {
        read(
            self.http
                .get(format!("{}{path}", self.base))
                .header("HX-Request", "true")
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// The CSRF token of this client's session (read from a form on a page).
    pub async fn csrf(&self) -> String {
        let page = self.get("/login").await;
        if let Some(token) = page.value("input[name=csrf_token]") {
            return token;
        }
        let page = self.get("/account").await;
        page.value("input[name=csrf_token]")
            .expect("a csrf_token field on /account")
    }

    /// POSTs a form with this session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.post_raw(path, &form, &[]).await
    }

    /// POSTs exactly these fields and headers (no token added).
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.expect("POST")).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        let token = page.value("input[name=csrf_token]").unwrap_or_default();
        self.post_raw(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf_token", &token),
            ],
            &[],
        )
        .await
    }
}

/// Runs each named `async fn(TestApp)` on SQLite and on PostgreSQL, as `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite).await.expect("sqlite");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Where a signed-out GET of `path` is sent: the sign-in page, coming back afterwards when
/// `path` is a `next` the server follows (`SafeNext`, the server's own rule).
pub fn sign_in_for(path: &str) -> String {
    match releasedesk::auth::next::SafeNext::parse(path) {
        Some(next) => format!(
            "/login?{}",
            serde_urlencoded::to_string([("next", next.as_str())]).unwrap()
        ),
        None => "/login".to_owned(),
    }
}

/// `n` new scripts `{prefix}{i:03}.sql` in `demo`, each with one version submitted by
/// `username`: their release tasks (pending), in order.
pub fn submitted_tasks(
    c: &mut DbConn,
    username: &str,
    prefix: &str,
    n: usize,
) -> Vec<releasedesk::domain::TaskId> {
    use releasedesk::db::models::{scripts, users, workspaces};
    let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
    let user = users::find_by_username(c, username).unwrap().unwrap().id;
    (0..n)
        .map(|i| {
            let path =
                releasedesk::domain::ScriptPath::parse(&format!("{prefix}{i:03}.sql")).unwrap();
            let draft = scripts::ScriptDraft {
                script_type: releasedesk::domain::ScriptType::Sql,
                schedule: String::new(),
                description: Default::default(),
                content: format!("SELECT {i};"),
            };
            let s = scripts::create(c, user, ws, &path, &draft).unwrap();
            scripts::submit_version(c, user, ws, s.id, "submitted")
                .unwrap()
                .task_id
                .unwrap()
        })
        .collect()
}

/// A package's status word in workspace `ws`, read through the data layer.
pub async fn package_status(
    app: &TestApp,
    ws: &str,
    package: releasedesk::domain::PackageId,
) -> String {
    let ws = ws.to_owned();
    app.db(move |c| {
        use releasedesk::db::models::{releases, workspaces};
        let ws = workspaces::find_by_slug(c, &ws).unwrap().unwrap().id;
        releases::find_package(c, ws, package)
            .unwrap()
            .unwrap()
            .status
            .as_str()
            .to_owned()
    })
    .await
}
