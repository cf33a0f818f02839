//! Workspace notification hooks end to end (issue 23), on SQLite and PostgreSQL, against a real
//! HTTP receiver on 127.0.0.1 that records every request and checks its HMAC signature: one
//! delivery per hook per event, nothing for a hook that does not want the kind or is turned
//! off, a failing receiver retried then served once, two senders never delivering one row
//! twice, the payload valid against docs/notification-webhook.schema.json, the secret never on
//! a page or in the audit log, admins only, and a hand retry that resets a delivery once.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use releasedesk::db::models::hooks::{self, HookFormat, HookInput};
use releasedesk::db::models::notifications::{self, Event, NotificationKind, Subject};
use releasedesk::db::models::{users, workspaces};
use releasedesk::db::schema::{audit_log, notifications as outbox};
use releasedesk::domain::{PackageId, PrivateDestinations, UserId, WorkspaceId};
use releasedesk::paths;
use releasedesk::worker::hooks::{HookConfig, send_one};
use sha2::Sha256;
use support::{Client, TestApp};

const SECRET: &str = "hook-secret-0123456789abcdef";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
    /// Whether `X-Releasedesk-Signature` is the HMAC-SHA256 of the body with `secret`.
    fn signed_with(&self, secret: &str) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.header("x-releasedesk-signature") == Some(expected.as_str())
    }
}

/// An HTTP receiver on 127.0.0.1 that records requests and answers each with the next status
/// of `plan` (then 200 when the plan is used up).
#[derive(Clone)]
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Request>>>,
    plan: Arc<Mutex<Vec<u16>>>,
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..pos]).to_string();
        let mut lines = head.lines();
        let path = lines
            .next()?
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < pos + 4 + len {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Some(Request {
            path,
            headers,
            body: buf[pos + 4..].to_vec(),
        });
    }
}

impl Receiver {
    fn start(plan: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = Receiver {
            port: listener.local_addr().unwrap().port(),
            got: Arc::default(),
            plan: Arc::new(Mutex::new(plan.iter().rev().copied().collect())),
        };
        let r = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let code = r.plan.lock().unwrap().pop().unwrap_or(200);
                r.got.lock().unwrap().push(request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        receiver
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }

    fn to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits until `path` got at least `n` requests (20 s at most), then returns them.
    async fn wait_for(&self, path: &str, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.to(path);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

async fn ws_id(app: &TestApp, slug: &'static str) -> WorkspaceId {
    app.db(move |c| workspaces::find_by_slug(c, slug).unwrap().unwrap().id)
        .await
}

/// A hook made through the data layer by carol (admin of `demo`).
async fn hook(
    app: &TestApp,
    name: &str,
    format: HookFormat,
    url: String,
    kinds: &[NotificationKind],
) -> i64 {
    let carol = id_of(app, "carol").await;
    let ws = ws_id(app, "demo").await;
    let input = HookInput {
        name: name.to_owned(),
        format,
        url: Some(url),
        secret: (format == HookFormat::Generic).then(|| SECRET.to_owned()),
        kinds: kinds.to_vec(),
    };
    app.db(move |c| {
        hooks::create(c, carol, ws, &input, PrivateDestinations::Allowed)
            .unwrap()
            .id
    })
    .await
}

/// A new release package of alice's, waiting for bob's review (raises `review_requested`).
async fn package_for_bob(app: &TestApp, alice: &Client, path: &str) -> PackageId {
    let bob = id_of(app, "bob").await;
    let path = path.to_owned();
    let task = app
        .db(move |c| support::submitted_tasks(c, "alice", &path, 1)[0])
        .await;
    let resp = alice.release("demo", &[task], &[bob], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    resp.location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/notification-webhook.schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid schema")
}

fn assert_valid(payload: &serde_json::Value) {
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(payload)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?} in {payload:#}");
}

type Row = (i64, Option<i64>, String, i32, String);

async fn hook_rows(app: &TestApp) -> Vec<Row> {
    app.db(|c| {
        outbox::table
            .filter(outbox::hook_id.is_not_null())
            .order(outbox::id)
            .select((
                outbox::id,
                outbox::hook_id,
                outbox::status,
                outbox::attempts,
                outbox::last_error,
            ))
            .load(c)
            .unwrap()
    })
    .await
}

async fn each_subscribed_hook_gets_one_signed_delivery_per_event(app: TestApp) {
    let app = app.with_demo().await;
    let rx = Receiver::start(&[]);
    use NotificationKind::*;
    hook(
        &app,
        "generic",
        HookFormat::Generic,
        rx.url("/generic"),
        &[ReviewRequested, PackageApproved],
    )
    .await;
    hook(
        &app,
        "chat",
        HookFormat::Chat,
        rx.url("/chat"),
        &[PackageApproved],
    )
    .await;
    let off = hook(
        &app,
        "off",
        HookFormat::Generic,
        rx.url("/off"),
        &[ReviewRequested, PackageApproved],
    )
    .await;
    let (carol, ws) = (id_of(&app, "carol").await, ws_id(&app, "demo").await);
    app.db(move |c| hooks::set_active(c, carol, ws, off, false).unwrap())
        .await;

    let alice = app.signed_in("alice").await;
    let package = package_for_bob(&app, &alice, "hooks/one").await;
    let got = rx.wait_for("/generic", 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let review = &got[0];
    assert!(review.signed_with(SECRET), "{review:#?}");
    let body = review.json();
    assert_valid(&body);
    assert_eq!(body["event"], "review_requested");
    assert_eq!(
        review.header("x-releasedesk-delivery"),
        body["delivery_id"].as_str()
    );
    assert_eq!(body["workspace"]["slug"], "demo");
    assert_eq!(body["actor"], "alice");
    assert_eq!(body["subject"]["type"], "package");
    assert_eq!(body["subject"]["id"], package.get());
    assert_eq!(body["subject"]["status"], "pending_approval");
    let link = format!("{}{}", app.base, paths::package("demo", package));
    assert_eq!(body["subject"]["url"], link.as_str());

    let bob = app.signed_in("bob").await;
    let decided = bob.decide_package("demo", package, "approve", "").await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let got = rx.wait_for("/generic", 2).await;
    let chat = rx.wait_for("/chat", 1).await;
    // Then the release finishes (`package_released`), which no hook wants.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_now = rx.to("/generic");
    assert_eq!(got_now.len(), 2, "one each: {got_now:#?}");
    let approved = got[1].json();
    assert_valid(&approved);
    assert_eq!(approved["event"], "package_approved");
    assert_eq!(approved["actor"], "bob");
    assert_ne!(approved["delivery_id"], body["delivery_id"]);
    assert_eq!(rx.to("/chat").len(), 1, "{chat:#?}");
    let text = chat[0].json()["text"].as_str().unwrap().to_owned();
    assert!(text.contains(&format!("<{link}|")), "{text}");
    assert!(text.contains("Package approved"), "{text}");
    assert!(chat[0].header("x-releasedesk-signature").is_none());
    assert!(rx.to("/off").is_empty(), "a hook turned off gets nothing");
    let rows = hook_rows(&app).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.2 == "sent"), "{rows:?}");
}

async fn a_failing_receiver_is_retried_then_served_once(app: TestApp) {
    let app = app.with_demo().await;
    let rx = Receiver::start(&[500]);
    hook(
        &app,
        "flaky",
        HookFormat::Generic,
        rx.url("/flaky"),
        &[NotificationKind::ReviewRequested],
    )
    .await;
    let alice = app.signed_in("alice").await;
    package_for_bob(&app, &alice, "hooks/flaky").await;
    let got = rx.wait_for("/flaky", 2).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[0].header("x-releasedesk-delivery"),
        got[1].header("x-releasedesk-delivery"),
        "a retry is the same delivery"
    );
    assert!(got.iter().all(|r| r.signed_with(SECRET)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.to("/flaky").len(), 2, "served once");
    let rows = hook_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "sent", "{rows:?}");
    assert_eq!(rows[0].3, 2, "{rows:?}");
}

async fn two_senders_never_deliver_one_row_twice(app: TestApp) {
    // No worker in this app: the test's two senders deliver.
    let backend = app.backend;
    drop(app);
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_worker = false).await else {
        return;
    };
    let app = app.with_demo().await;
    let rx = Receiver::start(&[]);
    for i in 0..3 {
        hook(
            &app,
            &format!("h{i}"),
            if i == 0 {
                HookFormat::Chat
            } else {
                HookFormat::Generic
            },
            rx.url(&format!("/h{i}")),
            &[NotificationKind::PackageApproved],
        )
        .await;
    }
    let ws = ws_id(&app, "demo").await;
    let alice = app.signed_in("alice").await;
    let mut raised = 0;
    for n in 0..4 {
        let package = package_for_bob(&app, &alice, &format!("hooks/two{n}")).await;
        app.db(move |c| {
            notifications::raise(
                c,
                Event {
                    kind: NotificationKind::PackageApproved,
                    workspace_id: ws,
                    subject: Subject::Package(package),
                    actor: None,
                },
                &[],
            )
            .unwrap()
        })
        .await;
        raised += 3;
    }
    assert_eq!(hook_rows(&app).await.len(), raised);
    // A sender that claimed one and died: its lease runs out, another sends it.
    let dead = app
        .db(|c| {
            notifications::claim_on(c, releasedesk::worker::hooks::CHANNELS, "dead-sender", 1)
                .unwrap()
        })
        .await
        .expect("a due delivery");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let config = HookConfig::new(&app.base, PrivateDestinations::Allowed);
    let senders: Vec<_> = ["sender-a", "sender-b"]
        .into_iter()
        .map(|name| {
            let (pool, config) = (app.pool.clone(), config.clone());
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().unwrap();
                let mut n = 0;
                while send_one(&mut conn, &config, name).unwrap() {
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut handled = 0;
    for s in senders {
        handled += s.await.unwrap();
    }
    assert_eq!(handled, raised, "each delivery handled by one sender");
    let got = rx.requests();
    assert_eq!(got.len(), raised, "{got:#?}");
    let ids: std::collections::HashSet<&str> = got
        .iter()
        .map(|r| r.header("x-releasedesk-delivery").unwrap())
        .collect();
    assert_eq!(ids.len(), raised, "no delivery twice");
    for r in got.iter().filter(|r| r.path != "/h0") {
        assert!(r.signed_with(SECRET));
        assert_valid(&r.json());
    }
    assert!(hook_rows(&app).await.iter().all(|r| r.2 == "sent"));
    let late = app
        .db(move |c| notifications::mark_sent(c, dead.id, "dead-sender").unwrap())
        .await;
    assert!(!late, "the dead sender's late mark changes nothing");
}

/// Every place a secret must never appear.
async fn assert_nowhere(app: &TestApp, client: &Client, secret: &str) {
    for path in [
        paths::notification_hooks("demo"),
        paths::deliveries("demo"),
        paths::audit("demo"),
        paths::audit_csv("demo"),
        paths::settings("demo"),
    ] {
        let page = client.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(secret), "{path} shows the secret");
    }
    let secret = secret.to_owned();
    let leaked: i64 = app
        .db(move |c| {
            audit_log::table
                .filter(
                    audit_log::comment
                        .like(format!("%{secret}%"))
                        .or(audit_log::target_label.like(format!("%{secret}%"))),
                )
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(leaked, 0, "the audit log holds the secret");
}

async fn the_secret_is_shown_once_and_never_again(app: TestApp) {
    let app = app.with_demo().await;
    let rx = Receiver::start(&[]);
    let carol = app.signed_in("carol").await;
    let url = rx.url("/path-is-private/T0/B0/XYZ");
    let resp = carol
        .post(
            &paths::notification_hooks("demo"),
            &[
                ("name", "ops"),
                ("format", "generic"),
                ("url", &url),
                ("secret", ""),
                ("kinds", "review_requested"),
                ("kinds", "package_approved"),
            ],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let secret = resp.texts("#new-secret").join("");
    assert_eq!(secret.len(), 64, "a generated secret: {secret:?}");
    assert!(resp.has("#hook-table tr[data-hook=ops]"));
    assert!(!resp.body.contains("/path-is-private/"), "the URL's path");
    let id = app
        .db(|c| {
            use releasedesk::db::schema::notification_hooks as h;
            h::table
                .filter(h::name.eq("ops"))
                .select(h::id)
                .first::<i64>(c)
                .unwrap()
        })
        .await;

    // It signs what is sent, and the page, edit form, audit log and deliveries never show it.
    let alice = app.signed_in("alice").await;
    package_for_bob(&app, &alice, "hooks/secret").await;
    let got = rx.wait_for("/path-is-private/T0/B0/XYZ", 1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].signed_with(&secret));
    let edit = carol.get(&paths::notification_hook("demo", id)).await;
    assert_eq!(edit.status, 200);
    assert!(!edit.body.contains(&secret));
    assert_eq!(edit.value("#h-secret").as_deref(), Some(""));
    assert_nowhere(&app, &carol, &secret).await;

    // Saved without a secret: kept. A given secret replaces it and is shown once.
    let saved = carol
        .post(
            &paths::notification_hook("demo", id),
            &[
                ("name", "ops"),
                ("format", "generic"),
                ("url", ""),
                ("secret", ""),
                ("kinds", "review_requested"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let kept: String = app
        .db(move |c| hooks::for_send(c, id).unwrap().unwrap().secret)
        .await;
    assert_eq!(kept, secret);
    let replaced = carol
        .post(
            &paths::notification_hook("demo", id),
            &[
                ("name", "ops"),
                ("format", "generic"),
                ("url", ""),
                ("secret", "a-given-secret-of-some-length"),
                ("kinds", "review_requested"),
            ],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_nowhere(&app, &carol, "a-given-secret-of-some-length").await;
    let audit = carol.get(&paths::audit("demo")).await;
    assert!(audit.body.contains("notification_hook.created"));
    assert!(audit.body.contains("notification_hook.updated"));
}

async fn only_admins_configure_hooks_and_see_deliveries(app: TestApp) {
    let app = app.with_demo().await;
    let rx = Receiver::start(&[404]);
    let id = hook(
        &app,
        "gone",
        HookFormat::Generic,
        rx.url("/gone"),
        &[NotificationKind::ReviewRequested],
    )
    .await;
    let alice = app.signed_in("alice").await;
    package_for_bob(&app, &alice, "hooks/admins").await;
    rx.wait_for("/gone", 1).await;
    let delivery = loop {
        let rows = hook_rows(&app).await;
        if rows.first().is_some_and(|r| r.2 == "failed") {
            break rows[0].0;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let form: &[(&str, &str)] = &[
        ("name", "x"),
        ("format", "chat"),
        ("url", "http://127.0.0.1:9/"),
        ("kinds", "review_requested"),
    ];
    // The navigation leads admins to Deliveries, and no one else.
    let deliveries_link = format!("nav.subnav a[href='{}']", paths::deliveries("demo"));
    let carol = app.signed_in("carol").await;
    assert!(
        carol
            .get(&paths::workspace("demo"))
            .await
            .has(&deliveries_link)
    );
    for who in ["victor", "alice", "bob"] {
        let client = app.signed_in(who).await;
        assert!(
            !client
                .get(&paths::workspace("demo"))
                .await
                .has(&deliveries_link),
            "{who} sees Deliveries"
        );
        for path in [
            paths::notification_hooks("demo"),
            paths::notification_hook("demo", id),
            paths::deliveries("demo"),
        ] {
            assert_eq!(client.get(&path).await.status, 403, "{who} GET {path}");
        }
        for path in [
            paths::notification_hooks("demo"),
            paths::notification_hook("demo", id),
            paths::notification_hook_delete("demo", id),
            paths::notification_hook_test("demo", id),
            paths::delivery_retry("demo", delivery),
        ] {
            assert_eq!(
                client.post(&path, form).await.status,
                403,
                "{who} POST {path}"
            );
        }
    }
    // victor is not in `payments`: 404. bob administers `payments`, where `demo`'s hook and
    // delivery do not exist: 404 too.
    let victor = app.signed_in("victor").await;
    assert_eq!(victor.get(&paths::deliveries("payments")).await.status, 404);
    let bob = app.signed_in("bob").await;
    assert_eq!(bob.get(&paths::deliveries("payments")).await.status, 200);
    assert_eq!(
        bob.get(&paths::notification_hook("payments", id))
            .await
            .status,
        404
    );
    assert_eq!(
        bob.post(&paths::delivery_retry("payments", delivery), &[])
            .await
            .status,
        404
    );
    assert_eq!(
        bob.post(&paths::notification_hook_delete("payments", id), &[])
            .await
            .status,
        404
    );
    let failed = hook_rows(&app).await;
    assert_eq!(failed[0].2, "failed", "nothing changed: {failed:?}");
    assert!(
        app.db(move |c| hooks::for_send(c, id).unwrap().is_some())
            .await
    );
}

async fn a_hand_retry_resets_a_failed_delivery_once(app: TestApp) {
    let app = app.with_demo().await;
    // 404: failed at once, not retried.
    let rx = Receiver::start(&[404]);
    hook(
        &app,
        "retry-me",
        HookFormat::Generic,
        rx.url("/retry"),
        &[NotificationKind::ReviewRequested],
    )
    .await;
    let alice = app.signed_in("alice").await;
    package_for_bob(&app, &alice, "hooks/retry").await;
    let delivery = loop {
        let rows = hook_rows(&app).await;
        if rows.first().is_some_and(|r| r.2 == "failed") {
            assert_eq!(rows[0].4, "HTTP 404", "{rows:?}");
            break rows[0].0;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let carol = app.signed_in("carol").await;
    let page = carol
        .get(&format!("{}?status=failed", paths::deliveries("demo")))
        .await;
    assert_eq!(page.status, 200);
    let row = format!("#delivery-table tr[data-delivery=\"{delivery}\"]");
    assert!(page.has(&row), "{}", page.body);
    assert!(
        page.texts(&format!("{row} .recipient"))
            .join("")
            .contains("retry-me")
    );
    assert!(
        page.texts(&format!("{row} .last-error"))
            .join("")
            .contains("HTTP 404")
    );
    let none_sent = carol
        .get(&format!("{}?status=sent", paths::deliveries("demo")))
        .await;
    assert!(!none_sent.has(&row));
    assert_eq!(
        carol
            .get(&format!("{}?status=bogus", paths::deliveries("demo")))
            .await
            .status,
        400
    );

    // Two clicks at once: one reset, one told it is not failed any more.
    let path = paths::delivery_retry("demo", delivery);
    let other = app.signed_in("tara").await;
    let (a, b) = tokio::join!(carol.post(&path, &[]), other.post(&path, &[]));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409], "{} / {}", a.body, b.body);
    let audited: i64 = app
        .db(|c| {
            audit_log::table
                .filter(audit_log::action.eq("notification.retried"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(audited, 1);
    let got = rx.wait_for("/retry", 2).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = hook_rows(&app).await;
        if rows[0].2 == "sent" {
            assert_eq!(rows[0].3, 1, "attempts start again: {rows:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A sent delivery cannot be retried.
    assert_eq!(carol.post(&path, &[]).await.status, 409);
}

async fn bad_hook_forms_come_back_with_a_message_per_field(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let resp = carol
        .post(
            &paths::notification_hooks("demo"),
            &[
                ("name", ""),
                ("format", "pager"),
                ("url", "ftp://example.com/x"),
                ("secret", "short"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422, "{}", resp.body);
    for field in ["name", "format", "url", "kinds"] {
        assert!(
            resp.has(&format!("#{field}-error")),
            "{field}: {}",
            resp.body
        );
    }
    assert_eq!(
        resp.value("#h-url").as_deref(),
        Some("ftp://example.com/x"),
        "the input is kept"
    );
    let resp = carol
        .post(
            &paths::notification_hooks("demo"),
            &[
                ("name", "named"),
                ("format", "generic"),
                ("url", "https://hooks.example.com/x"),
                ("secret", "short"),
                ("kinds", "review_requested"),
                ("kinds", "no_such_kind"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422);
    assert!(
        resp.has("#secret-error") && resp.has("#kinds-error"),
        "{}",
        resp.body
    );
    assert_eq!(resp.value("#h-name").as_deref(), Some("named"));
    assert_eq!(resp.value("#h-secret").as_deref(), Some(""), "never echoed");
    assert!(!resp.body.contains("value=\"short\""));

    // A taken name is refused by the data layer, beside the field.
    let ok = carol
        .post(
            &paths::notification_hooks("demo"),
            &[
                ("name", "dup"),
                ("format", "chat"),
                ("url", "https://hooks.example.com/x"),
                ("kinds", "review_requested"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let dup = carol
        .post(
            &paths::notification_hooks("demo"),
            &[
                ("name", "dup"),
                ("format", "chat"),
                ("url", "https://hooks.example.com/y"),
                ("kinds", "package_approved"),
            ],
        )
        .await;
    assert_eq!(dup.status, 422);
    assert!(dup.texts("#name-error").join("").contains("exists"));
    // Settings leads to the hooks page.
    let settings = carol.get(&paths::settings("demo")).await;
    let link = scraper::Selector::parse("#notification-hooks-link").unwrap();
    assert_eq!(
        settings
            .html()
            .select(&link)
            .next()
            .and_then(|a| a.value().attr("href").map(str::to_owned)),
        Some(paths::notification_hooks("demo"))
    );
    // Every event kind is offered (but the digest, a person's summary).
    let page = carol.get(&paths::notification_hooks("demo")).await;
    let offered = page.html();
    let sel = scraper::Selector::parse("#hook-kinds input[name=kinds]").unwrap();
    let values: Vec<&str> = offered
        .select(&sel)
        .filter_map(|e| e.value().attr("value"))
        .collect();
    let expected: Vec<&str> = NotificationKind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|k| *k != "digest")
        .collect();
    assert_eq!(values, expected);
}

async fn private_hook_urls_are_refused_unless_allowed(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let Some(app) = TestApp::spawn_with(backend, |s| s.allow_private_webhooks = false).await else {
        return;
    };
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let resp = carol
        .post(
            &paths::notification_hooks("demo"),
            &[
                ("name", "inward"),
                ("format", "chat"),
                ("url", "http://169.254.169.254/latest"),
                ("kinds", "review_requested"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422, "{}", resp.body);
    assert!(
        resp.texts("#url-error")
            .join("")
            .contains("--allow-private-webhooks"),
        "{}",
        resp.body
    );
}

async fn the_deliveries_page_runs_newest_first_fifty_a_page(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_worker = false).await else {
        return;
    };
    let app = app.with_demo().await;
    for i in 0..20 {
        hook(
            &app,
            &format!("p{i:02}"),
            HookFormat::Chat,
            "https://hooks.example.com/x".into(),
            &[NotificationKind::PackageApproved],
        )
        .await;
    }
    let ws = ws_id(&app, "demo").await;
    let alice = app.signed_in("alice").await;
    let package = package_for_bob(&app, &alice, "hooks/paged").await;
    for _ in 0..3 {
        app.db(move |c| {
            notifications::raise(
                c,
                Event {
                    kind: NotificationKind::PackageApproved,
                    workspace_id: ws,
                    subject: Subject::Package(package),
                    actor: None,
                },
                &[],
            )
            .unwrap()
        })
        .await;
    }
    let total: i64 = app
        .db(move |c| {
            outbox::table
                .filter(outbox::workspace_id.eq(ws))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert!(total > 60, "{total}");
    let carol = app.signed_in("carol").await;
    let first = carol.get(&paths::deliveries("demo")).await;
    let ids = |page: &support::Resp| -> Vec<i64> {
        let html = page.html();
        let sel = scraper::Selector::parse("#delivery-table tr[data-delivery]").unwrap();
        html.select(&sel)
            .map(|e| e.value().attr("data-delivery").unwrap().parse().unwrap())
            .collect()
    };
    let one = ids(&first);
    assert_eq!(one.len(), 50);
    assert!(one.windows(2).all(|w| w[0] > w[1]), "newest first");
    let next = first
        .html()
        .select(&scraper::Selector::parse("#older").unwrap())
        .next()
        .and_then(|e| e.value().attr("href").map(str::to_owned))
        .expect("an Older link");
    let second = carol
        .get(&format!("{}{}", paths::deliveries("demo"), next))
        .await;
    let two = ids(&second);
    assert!(!two.is_empty() && two[0] < *one.last().unwrap(), "{two:?}");
    assert_eq!((one.len() + two.len()) as i64, total.min(100));
    assert!(second.texts("td").join(" ").contains("p00"));
}

/// Runs one sender until nothing is due; returns how many deliveries it handled.
async fn drain_hooks(app: &TestApp) -> usize {
    let config = HookConfig::new(&app.base, PrivateDestinations::Allowed);
    app.db(move |c| {
        let mut n = 0;
        while send_one(c, &config, "test-sender").unwrap() {
            n += 1;
        }
        n
    })
    .await
}

async fn stale_news_is_skipped_and_every_subject_fits_the_schema(app: TestApp) {
    use releasedesk::db::schema::{region_task_steps, region_tasks};
    let backend = app.backend;
    drop(app);
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_worker = false).await else {
        return;
    };
    let app = app.with_demo().await;
    let rx = Receiver::start(&[]);
    hook(
        &app,
        "all",
        HookFormat::Generic,
        rx.url("/all"),
        &NotificationKind::ALL
            .iter()
            .copied()
            .filter(|k| k.as_str() != "digest")
            .collect::<Vec<_>>(),
    )
    .await;
    // A review request decided before the sender took it: skipped, saying by whom.
    let alice = app.signed_in("alice").await;
    let package = package_for_bob(&app, &alice, "hooks/stale").await;
    let bob = app.signed_in("bob").await;
    let rejected = bob
        .decide_package("demo", package, "reject", "not now")
        .await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    // A checkpoint and a region task of the demo, as subjects.
    let ws = ws_id(&app, "demo").await;
    let (task, step): (i64, i64) = app
        .db(move |c| {
            region_task_steps::table
                .inner_join(region_tasks::table)
                .filter(region_tasks::workspace_id.eq(ws))
                .filter(region_task_steps::kind.ne("deploy"))
                .select((region_tasks::id, region_task_steps::id))
                .first(c)
                .unwrap()
        })
        .await;
    let (task, step) = (
        releasedesk::domain::RegionTaskId(task),
        releasedesk::domain::StepId(step),
    );
    for (kind, subject) in [
        (
            NotificationKind::CheckpointDecided,
            Subject::Checkpoint { task, step },
        ),
        (
            NotificationKind::RegionTaskReleased,
            Subject::RegionTask(task),
        ),
    ] {
        app.db(move |c| {
            notifications::raise(
                c,
                Event {
                    kind,
                    workspace_id: ws,
                    subject,
                    actor: None,
                },
                &[],
            )
            .unwrap()
        })
        .await;
    }
    let handled = drain_hooks(&app).await;
    assert_eq!(handled, 4, "review, rejection, checkpoint, region task");
    let rows = hook_rows(&app).await;
    assert_eq!(rows[0].2, "skipped", "{rows:?}");
    assert!(
        rows[0].4.contains("already rejected by bob"),
        "{}",
        rows[0].4
    );
    let got = rx.to("/all");
    assert_eq!(got.len(), 3, "{got:#?}");
    for r in &got {
        assert!(r.signed_with(SECRET));
        assert_valid(&r.json());
    }
    let by_event = |e: &str| {
        got.iter()
            .map(Request::json)
            .find(|j| j["event"] == e)
            .unwrap_or_else(|| panic!("no {e}"))
    };
    let rejection = by_event("package_rejected");
    assert_eq!(rejection["subject"]["status"], "rejected");
    assert_eq!(rejection["actor"], "bob");
    let checkpoint = by_event("checkpoint_decided");
    assert_eq!(checkpoint["subject"]["type"], "checkpoint");
    assert_eq!(checkpoint["subject"]["step_id"], step.get());
    let position = checkpoint["subject"]["position"].as_i64().unwrap();
    assert_eq!(
        checkpoint["subject"]["url"],
        format!(
            "{}{}#step-{position}",
            app.base,
            paths::region_task("demo", task)
        )
        .as_str()
    );
    let region = by_event("region_task_released");
    assert_eq!(region["subject"]["type"], "region_task");
    assert_eq!(region["actor"], serde_json::Value::Null);
    // The Deliveries page says why the review request was not sent.
    let carol = app.signed_in("carol").await;
    let page = carol
        .get(&format!("{}?status=skipped", paths::deliveries("demo")))
        .await;
    assert!(
        page.texts(".last-error")
            .join(" ")
            .contains("already rejected by bob"),
        "{}",
        page.body
    );
}

async fn a_test_event_reaches_the_hook_and_says_what_it_answered(app: TestApp) {
    let app = app.with_demo().await;
    let rx = Receiver::start(&[200, 503]);
    let id = hook(
        &app,
        "tested",
        HookFormat::Generic,
        rx.url("/tested"),
        &[NotificationKind::ReviewRequested],
    )
    .await;
    let carol = app.signed_in("carol").await;
    let path = paths::notification_hook_test("demo", id);
    let sent = carol.post(&path, &[]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let page = carol.get(&paths::notification_hooks("demo")).await;
    assert!(
        page.texts(".toast-ok")
            .join(" ")
            .contains("answered HTTP 200"),
        "{}",
        page.body
    );
    let got = rx.to("/tested");
    assert_eq!(got.len(), 1);
    assert!(got[0].signed_with(SECRET));
    let body = got[0].json();
    assert_valid(&body);
    assert_eq!(body["event"], "test");
    assert_eq!(body["actor"], "carol");
    // The second answers 503: said, and nothing is recorded as a delivery.
    carol.post(&path, &[]).await;
    let page = carol.get(&paths::notification_hooks("demo")).await;
    assert!(
        page.texts(".toast-error").join(" ").contains("HTTP 503"),
        "{}",
        page.body
    );
    assert!(hook_rows(&app).await.is_empty());
}

on_both_backends!(
    each_subscribed_hook_gets_one_signed_delivery_per_event,
    a_failing_receiver_is_retried_then_served_once,
    two_senders_never_deliver_one_row_twice,
    the_secret_is_shown_once_and_never_again,
    only_admins_configure_hooks_and_see_deliveries,
    a_hand_retry_resets_a_failed_delivery_once,
    bad_hook_forms_come_back_with_a_message_per_field,
    private_hook_urls_are_refused_unless_allowed,
    the_deliveries_page_runs_newest_first_fifty_a_page,
    stale_news_is_skipped_and_every_subject_fits_the_schema,
    a_test_event_reaches_the_hook_and_says_what_it_answered,
);
