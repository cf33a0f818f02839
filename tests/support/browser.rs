//! Browser helpers: headless Debian Chromium driven through chromedriver (fantoccini), and
//! `in_the_browser!` to run one browser test on both backends. Screenshots land in
//! `target/screenshots/` to be looked at.
//!
//! Without chromium/chromedriver the tests say so and pass, unless
//! `RELEASEDESK_REQUIRE_BROWSER=1` (set by `.ci/run`) makes their absence a failure.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use super::{PASSWORD, TestApp};

/// The browser's time zone (one hour ahead of UTC in December).
pub const VIEWER_TZ: &str = "Europe/Berlin";

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver child process and the Chromium it starts, both ended on drop.
pub struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A test that fails before closing its session leaves Chromium running after
        // chromedriver is killed (found an hour later, still holding its renderers): end every
        // process started with this test's own profile directory.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f"])
            .arg(self._profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn browser_available() -> bool {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present {
        if std::env::var("RELEASEDESK_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("RELEASEDESK_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing");
        }
        eprintln!("skipped: install chromium and chromium-driver to run the browser tests");
    }
    present
}

pub async fn start_browser() -> (Driver, Client) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        // Not the server's UTC: pages show times in the viewer's zone.
        .env("TZ", VIEWER_TZ)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let mut last_error = None;
    for _ in 0..50 {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => {
                last_error = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("chromedriver did not start: {last_error:?}");
}

pub async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

pub async fn wait_css(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

pub async fn text(client: &Client, css: &str) -> String {
    wait_css(client, css).await.text().await.unwrap()
}

/// Scrolls the element matching `css` to the middle of the window, then clicks it. A button that
/// chromedriver scrolls to the window's bottom edge itself was sometimes not clicked at all.
pub async fn click(client: &Client, css: &str) {
    let el = wait_css(client, css).await;
    client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&el).unwrap()],
        )
        .await
        .unwrap();
    el.click().await.unwrap();
}

/// Waits until an element matching `css` contains `needle` (the page may still be the old one).
pub async fn wait_text(client: &Client, css: &str, needle: &str) -> String {
    for _ in 0..100 {
        if let Ok(el) = client.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
            && t.contains(needle)
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What the page showed instead, to see why.
    screenshot(client, "failed-wait").await;
    let url = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let main = match client.find(Locator::Css("main")).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    panic!("no {css} containing {needle:?} on {url}; the page says:\n{main}");
}

pub async fn sign_in(client: &Client, app: &TestApp, username: &str) {
    client.goto(&app.url("/login")).await.unwrap();
    wait_css(client, "#username")
        .await
        .send_keys(username)
        .await
        .unwrap();
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(client, ".user-menu").await;
}

pub async fn sign_out(client: &Client) {
    client
        .find(Locator::Css(".user-menu button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(client, "#username").await;
}

pub fn url_with(app: &TestApp, path: &str) -> url::Url {
    url::Url::parse(&app.url(path)).unwrap()
}

/// Runs each `async fn name(app: TestApp)` as a browser test on SQLite and on PostgreSQL, each
/// on a fresh database with the demo data.
#[macro_export]
macro_rules! in_the_browser {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::support::browser::browser_available() {
                        return;
                    }
                    let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite)
                        .await
                        .expect("sqlite")
                        .with_demo()
                        .await;
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::support::browser::browser_available() {
                        return;
                    }
                    if let Some(app) =
                        $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await
                    {
                        super::$name(app.with_demo().await).await;
                    }
                }
            )*
        }
    };
}
