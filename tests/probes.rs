//! Session and authentication probes that `tests/auth.rs` does not already make: CSRF on every
//! POST route of the route table, the `Secure` flag, the per-address sign-in limit, common
//! passwords, and no secret in the logs or pages of the real binary run with debug logging.
//! (Fixation, replayed cookies after sign-out, `HttpOnly`/`SameSite`, the per-username limit
//! and deactivation are in `tests/auth.rs`.)

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use releasedesk::paths;
use support::{PASSWORD, TestApp};

async fn every_post_route_needs_the_csrf_token(app: TestApp) {
    let app = app.with_demo().await;
    let tara = app.signed_in("tara").await;
    let token = tara.csrf().await;
    let posts: Vec<String> = support::routes::all()
        .into_iter()
        .filter(|(method, _)| method == "POST")
        .map(|(_, pattern)| support::routes::example_path(&pattern))
        .collect();
    assert!(posts.len() >= 30, "{posts:?}");
    let mut refused = 0;
    for path in &posts {
        for (fields, headers, what) in [
            (vec![("x", "1")], vec![], "no token"),
            (vec![("csrf_token", "forged")], vec![], "a forged field"),
            (vec![], vec![("X-CSRF-Token", "forged")], "a forged header"),
            (
                vec![("csrf_token", token.as_str())],
                vec![("Origin", "http://evil.example")],
                "another origin",
            ),
        ] {
            let resp = tara.post_raw(path, &fields, &headers).await;
            assert_eq!(resp.status, 403, "POST {path} with {what}");
            assert!(
                resp.body.contains("did not come from releasedesk"),
                "POST {path} with {what} says why"
            );
            refused += 1;
        }
    }
    eprintln!(
        "{refused} forged POSTs over {} routes refused on {:?}",
        posts.len(),
        app.backend
    );
    // None of them reached a handler: tara is still signed in (POST /logout was refused).
    assert_eq!(tara.get("/account").await.status, 200);
}

async fn sign_in_is_throttled_per_address(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    // 30 failures, each for a different name, so the per-username limit never trips.
    for i in 0..30 {
        let resp = client
            .login(&format!("stranger{i}"), "wrong-password")
            .await;
        assert_eq!(resp.status, 401, "attempt {i}");
    }
    let locked = client.login("carol", PASSWORD).await;
    assert_eq!(
        locked.status, 429,
        "the address waits, even for a right password"
    );
    assert!(locked.header("retry-after").is_some());
    assert!(locked.texts(".alert-error")[0].starts_with("Too many failed sign-in attempts"));
}

async fn common_and_short_passwords_are_refused_with_a_field_message(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    for (new, message) in [
        (
            "Password123",
            "This password is too common; choose another.",
        ),
        (
            "aaaaaaaaaaaa",
            "This password is too common; choose another.",
        ),
        ("short", "Use at least 10 characters."),
        (
            "my name is alice!",
            "A password cannot contain the username.",
        ),
    ] {
        let resp = alice
            .post(
                "/account/password",
                &[("current", PASSWORD), ("new", new), ("confirm", new)],
            )
            .await;
        assert_eq!(resp.status, 422, "{new}");
        assert_eq!(resp.texts("#new-error"), vec![message], "{new}");
    }
    let tara = app.signed_in("tara").await;
    let resp = tara
        .post(
            "/admin/users",
            &[
                ("username", "newbie"),
                ("display_name", "Newbie"),
                ("password", "qwertyuiop"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422);
    assert!(resp.body.contains("This password is too common"));
}

on_both_backends!(
    every_post_route_needs_the_csrf_token,
    sign_in_is_throttled_per_address,
    common_and_short_passwords_are_refused_with_a_field_message,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookie_flag_and_hsts_with_secure_cookies() {
    let app = TestApp::spawn_with(support::Backend::Sqlite, |s| s.secure_cookies = true)
        .await
        .unwrap();
    let page = app.client().get("/login").await;
    let cookie = page.header("set-cookie").unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let plain = TestApp::spawn(support::Backend::Sqlite).await.unwrap();
    let page = plain.client().get("/login").await;
    assert!(!page.header("set-cookie").unwrap().contains("Secure"));
    assert!(page.header("strict-transport-security").is_none());
}

const SMTP_PASSWORD: &str = "smtp-probe-password-0123456789";

/// Runs the real binary with debug logging, signs in, changes a password, stores a webhook
/// secret, creates an access token and browses; then no password, hash, session key, cookie,
/// webhook secret, access token or SMTP password may appear in its output, and none in the
/// pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_or_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let session_key = "c2Vzc2lvbi1rZXktZm9yLXRoZS1sb2ctcHJvYmUtb25seS0wMTIzNDU2Nzg5YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=";
    let log_path = dir.path().join("out.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_releasedesk"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("probe.db").display()),
        )
        .env("RELEASEDESK_LOG", "debug")
        .env("RELEASEDESK_SESSION_KEY", session_key)
        .env("RELEASEDESK_DEMO_PASSWORD", PASSWORD)
        .env("RELEASEDESK_ARGON2_MEMORY_KIB", "256")
        // Nothing listens there: the address is logged at start, the password never.
        .env(
            "RELEASEDESK_SMTP_URL",
            format!("smtp://mailer@127.0.0.1:{port}"),
        )
        .env("RELEASEDESK_SMTP_PASSWORD", SMTP_PASSWORD)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let probe = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if probe
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server started");
    let client = |_: ()| support::Client {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.clone(),
    };
    let (new_password, changed_password, webhook_secret) = (
        "Sam's first passphrase 7",
        "Sam's second passphrase 8",
        "whsec-probe-0123456789abcdef",
    );
    let tara = client(());
    assert_eq!(tara.login("tara", PASSWORD).await.status, 303);
    let created = tara
        .post(
            "/admin/users",
            &[
                ("username", "sam"),
                ("display_name", "Sam"),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let sam = client(());
    let signed = sam.login("sam", new_password).await;
    assert_eq!(signed.status, 303);
    let cookie = signed
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let changed = sam
        .post(
            "/account/password",
            &[
                ("current", new_password),
                ("new", changed_password),
                ("confirm", changed_password),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(
        client(()).login("sam", "a wrong password!").await.status,
        401
    );
    let region = tara
        .post(
            &paths::regions("demo"),
            &[
                ("name", "probe-1"),
                ("driver", "webhook"),
                ("webhook_url", "http://192.0.2.1:9/hook"),
                ("secret", webhook_secret),
                ("timeout_ms", "1000"),
                ("max_attempts", "1"),
            ],
        )
        .await;
    assert_eq!(region.status, 303, "{}", region.body);
    let token = sam.create_token("probe pipeline", "", "write").await;
    assert_eq!(token.status, 200, "{}", token.body);
    let api_secret = token
        .texts("#new-token")
        .pop()
        .expect("the new token's secret");
    let api_hash = releasedesk::domain::token::secret_hash(&api_secret);
    // The token in use: answered, refused when mangled, and a refused body; none of it may
    // echo the secret, in the answer or the log.
    let mut pages = String::new();
    for (secret, method, path, body) in [
        (api_secret.clone(), "GET", "/api/v1/user", ""),
        (format!("{api_secret}x"), "GET", "/api/v1/user", ""),
        (
            api_secret.clone(),
            "POST",
            "/api/v1/workspaces/demo/scripts",
            "{\"path\": \"\"}",
        ),
        (
            api_secret.clone(),
            "POST",
            "/api/v1/workspaces/demo/packages",
            "not json",
        ),
    ] {
        let answer = probe
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}{path}"),
            )
            .header("authorization", format!("Bearer {secret}"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert!(answer.status().as_u16() < 500, "{method} {path}");
        pages.push_str(&answer.text().await.unwrap());
    }
    pages.push_str(&sam.get("/account").await.body);
    for path in [
        region.location().unwrap(),
        "/workspaces/demo/regions",
        "/admin/users",
        "/workspaces/demo/audit",
        "/workspaces/demo/audit.csv",
        "/account",
        "/admin/tokens",
        "/metrics",
    ] {
        pages.push_str(&tara.get(path).await.body);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut output = String::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    assert!(
        output.contains("DEBUG") || output.contains("debug"),
        "debug logging was on: {output}"
    );
    assert!(
        output.contains("/account/password 303") && output.contains("signed in"),
        "the password change and the sign-ins were logged: {output}"
    );
    assert!(
        output.contains("smtp://mailer:***@127.0.0.1"),
        "the SMTP server is logged without its password: {output}"
    );
    for (what, secret) in [
        ("a password", new_password),
        ("a changed password", changed_password),
        ("a wrong password", "a wrong password!"),
        ("the webhook secret", webhook_secret),
        ("the session key", session_key),
        ("a session cookie", cookie.as_str()),
        ("a password hash", "$argon2id$"),
        ("a CSRF field", "csrf_token="),
        ("an access token", api_secret.as_str()),
        ("an access token's hash", api_hash.as_str()),
        ("the SMTP password", SMTP_PASSWORD),
    ] {
        assert!(!output.contains(secret), "{what} in the log");
        if what != "a session cookie" {
            assert!(!pages.contains(secret), "{what} in a page");
        }
    }
    eprintln!("log probe: {} bytes of debug output checked", output.len());
}
