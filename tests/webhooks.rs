//! Webhook destinations and answers (issue 20, finding 7), on SQLite and PostgreSQL: a region
//! cannot send to loopback, link-local or private addresses unless the operator allows it
//! (checked when a region is saved, and again at send time on the resolved addresses), and a
//! receiver's answer body is shown to workspace admins only, never in the audit log.

mod support;

use releasedesk::domain::RegionTaskId;
use releasedesk::domain::{UserId, WorkspaceId};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::prelude::*;
use releasedesk::db::DbConn;
use releasedesk::db::models::{region_release, regions, users, workspaces};
use releasedesk::domain::{Driver, PrivateDestinations};
use releasedesk::paths;
use support::{Client, TestApp};

/// What the receiver answers: these bodies look like secrets a loopback service might reply.
const OK_BODY: &str = "session=SECRET-REPLY-1234 from the loopback service";
const FAIL_BODY: &str = "db_password=SECRET-REPLY-5678 (stack trace follows)";

/// A webhook receiver on 127.0.0.1: answers 500 with `FAIL_BODY` to payloads naming a component
/// that contains `-bad`, and 200 with `OK_BODY` to the others; counts the requests it got.
struct Receiver {
    port: u16,
    calls: Arc<AtomicUsize>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The whole request: its head, then the body by Content-Length.
                loop {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(pos) = text.find("\r\n\r\n") {
                        let len = text[..pos]
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= pos + 4 + len {
                            break;
                        }
                    }
                }
                let request = String::from_utf8_lossy(&buf);
                let (code, text) = if request.contains("-bad\"") {
                    (500, FAIL_BODY)
                } else {
                    (200, OK_BODY)
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Receiver { port, calls }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Runs each named `async fn(TestApp)` on both backends with private webhook destinations
/// refused, as a server started without `--allow-private-webhooks` (the test harness allows
/// them by default, for the other tests' loopback receivers).
macro_rules! with_private_webhooks_refused {
    ($($name:ident),* $(,)?) => {
        mod refused {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let app = $crate::support::TestApp::spawn_with(
                            $crate::support::Backend::Sqlite,
                            |s| s.allow_private_webhooks = false,
                        )
                        .await
                        .expect("sqlite");
                        super::super::$name(app).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        if let Some(app) = $crate::support::TestApp::spawn_with(
                            $crate::support::Backend::Postgres,
                            |s| s.allow_private_webhooks = false,
                        )
                        .await
                        {
                            super::super::$name(app).await;
                        }
                    }
                )*
            }
        }
    };
}

fn id_of(c: &mut DbConn, name: &str) -> UserId {
    users::find_by_username(c, name).unwrap().unwrap().id
}

fn demo_ws(c: &mut DbConn) -> WorkspaceId {
    workspaces::find_by_slug(c, "demo").unwrap().unwrap().id
}

/// A component of the demo workspace, saved by bob; returns its id.
fn component(c: &mut DbConn, name: &str) -> i64 {
    let (ws, bob) = (demo_ws(c), id_of(c, "bob"));
    regions::save_component(
        c,
        bob,
        ws,
        None,
        &regions::ComponentInput {
            name: name.into(),
            artifact: format!("img/{name}"),
            version: "1.0.0".into(),
            instances: 1,
            cpu_millis: 100,
            memory_mib: 128,
            env: String::new(),
        },
    )
    .unwrap()
    .id
}

/// A webhook region written straight into the table, past `save_region`'s check, as a region
/// saved before the setting was turned off would be; returns its id.
fn region_row(c: &mut DbConn, name: &str, url: &str) -> i64 {
    use releasedesk::db::schema::regions as t;
    let ws = demo_ws(c);
    let now = releasedesk::db::now();
    diesel::insert_into(t::table)
        .values((
            t::workspace_id.eq(ws),
            t::name.eq(name),
            t::display_order.eq(50),
            t::driver.eq("webhook"),
            t::webhook_url.eq(url),
            t::webhook_secret.eq("webhook-test-signing-secret"),
            t::timeout_ms.eq(2000),
            t::max_attempts.eq(3),
            t::created_at.eq(now),
            t::updated_at.eq(now),
        ))
        .returning(t::id)
        .get_result(c)
        .unwrap()
}

/// bob defines a best-effort Bulk Deploy of `components` to `region` and executes it; returns
/// the task's id once the worker has finished it, with its final status.
async fn deploy(app: &TestApp, name: &str, region: i64, components: &[i64]) -> (i64, String) {
    let bob = app.signed_in("bob").await;
    let region = region.to_string();
    let components: Vec<String> = components.iter().map(i64::to_string).collect();
    let mut fields = vec![
        ("name", name),
        ("operation", "deploy"),
        ("best_effort", "on"),
        ("rows", "1"),
        ("step0_kind", "deploy"),
        ("step0_region", region.as_str()),
    ];
    for c in &components {
        fields.push(("step0_components", c.as_str()));
    }
    let created = bob.post(&paths::region_tasks("demo"), &fields).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let path = created.location().unwrap().to_owned();
    let task: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let executed = bob.execute("demo", RegionTaskId(task), None).await;
    assert_eq!(executed.status, 303, "{}", executed.body);
    for _ in 0..200 {
        let status = app
            .db(move |c| {
                let ws = demo_ws(c);
                region_release::find(c, ws, RegionTaskId(task))
                    .unwrap()
                    .unwrap()
                    .status
                    .as_str()
                    .to_owned()
            })
            .await;
        if !matches!(status.as_str(), "releasing" | "rolling_back" | "suspending") {
            return (task, status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {task} still running");
}

async fn history(client: &Client, task: i64) -> String {
    let page = client
        .get(&format!(
            "/workspaces/demo/region-release/tasks/{task}?tab=history"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.texts("#release-history").join("\n")
}

/// Destinations a workspace admin must not be able to save while the setting is off: loopback,
/// link-local (cloud metadata), private, CGNAT, unspecified, multicast and broadcast addresses,
/// in IPv4, IPv6 and IPv4-mapped IPv6 forms, and `localhost` names.
const PRIVATE_URLS: &[(&str, &str)] = &[
    ("http://127.0.0.1:9/hook", "127.0.0.1"),
    (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254",
    ),
    ("http://[::1]/hook", "::1"),
    ("http://10.1.2.3/", "10.1.2.3"),
    ("http://localhost/", "localhost"),
    ("https://LOCALHOST:8443/x", "localhost"),
    ("http://api.localhost./x", "api.localhost"),
    ("http://172.16.0.1/", "172.16.0.1"),
    ("http://192.168.1.1/", "192.168.1.1"),
    ("http://100.64.0.1/", "100.64.0.1"),
    ("http://0.0.0.0:8080/", "0.0.0.0"),
    ("http://224.0.0.1/", "224.0.0.1"),
    ("http://255.255.255.255/", "255.255.255.255"),
    ("http://[fe80::1]/", "fe80::1"),
    ("http://[fd00::1]/", "fd00::1"),
    ("http://[::]/", "::"),
    ("http://[ff02::1]/", "ff02::1"),
    ("http://[::ffff:10.0.0.5]/", "10.0.0.5"),
    ("http://[::ffff:169.254.169.254]/", "169.254.169.254"),
    // 127.0.0.1 written as one decimal number: URLs and resolvers read it as an address.
    ("http://2130706433/", "127.0.0.1"),
];

async fn private_webhook_urls_are_refused_when_a_region_is_saved(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    for (i, (url, host)) in PRIVATE_URLS.iter().enumerate() {
        let name = format!("private-{i}");
        let refused = carol
            .post(
                &paths::regions("demo"),
                &[
                    ("name", &name),
                    ("driver", "webhook"),
                    ("webhook_url", url),
                    ("secret", "a-long-enough-signing-secret"),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{url}: {}", refused.body);
        let message = refused.texts("#webhook_url-error").join(" ");
        assert!(
            message.contains(host)
                && message.contains("--allow-private-webhooks")
                && message.contains("RELEASEDESK_ALLOW_PRIVATE_WEBHOOKS"),
            "{url}: {message}"
        );
    }
    // Changing an existing region to a private destination is refused the same way.
    let eu = app
        .db(|c| {
            let ws = demo_ws(c);
            regions::list_regions(c, ws)
                .unwrap()
                .into_iter()
                .find(|r| r.name == "eu-west-1")
                .unwrap()
                .id
        })
        .await;
    let changed = carol
        .post(
            &paths::region("demo", eu),
            &[
                ("name", "eu-west-1"),
                ("driver", "webhook"),
                ("webhook_url", "http://169.254.169.254/latest/meta-data/"),
                ("secret", "a-long-enough-signing-secret"),
            ],
        )
        .await;
    assert_eq!(changed.status, 422, "{}", changed.body);
    assert!(changed.texts("#webhook_url-error")[0].contains("--allow-private-webhooks"));
    // Nothing was saved, and the data layer refuses it too (not only the form).
    let (names, refused) = app
        .db(move |c| {
            let (ws, carol) = (demo_ws(c), id_of(c, "carol"));
            let names: Vec<(String, String)> = regions::list_regions(c, ws)
                .unwrap()
                .into_iter()
                .map(|r| (r.name, r.driver.as_str().to_owned()))
                .collect();
            let refused = regions::save_region(
                c,
                carol,
                ws,
                None,
                &regions::RegionInput {
                    name: "direct".into(),
                    display_order: 0,
                    driver: Driver::Webhook,
                    webhook_url: "http://10.0.0.5/hook".into(),
                    secret: Some("a-long-enough-signing-secret".into()),
                    timeout_ms: 1000,
                    max_attempts: 1,
                },
                PrivateDestinations::Refused,
            );
            (names, refused.err().map(|e| e.to_string()))
        })
        .await;
    assert!(
        names.iter().all(|(n, _)| !n.starts_with("private-")),
        "{names:?}"
    );
    assert!(
        names.contains(&("eu-west-1".to_owned(), "inventory".to_owned())),
        "{names:?}"
    );
    assert!(
        refused
            .as_deref()
            .is_some_and(|m| m.contains("10.0.0.5 is a private address")),
        "{refused:?}"
    );
    // A public destination is still accepted.
    let public = carol
        .post(
            &paths::regions("demo"),
            &[
                ("name", "public-1"),
                ("driver", "webhook"),
                (
                    "webhook_url",
                    "https://deploy.example.com/hooks/releasedesk",
                ),
                ("secret", "a-long-enough-signing-secret"),
            ],
        )
        .await;
    assert_eq!(public.status, 303, "{}", public.body);
}

async fn private_webhook_urls_are_accepted_when_an_operator_allows_them(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    for (i, (url, _)) in PRIVATE_URLS.iter().take(5).enumerate() {
        let name = format!("allowed-{i}");
        let saved = carol
            .post(
                &paths::regions("demo"),
                &[
                    ("name", &name),
                    ("driver", "webhook"),
                    ("webhook_url", url),
                    ("secret", "a-long-enough-signing-secret"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{url}: {}", saved.body);
    }
}

async fn a_name_resolving_to_loopback_is_refused_when_sent(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let port = receiver.port;
    // `localhost` resolves to loopback offline; the mapped form reaches 127.0.0.1 on a dual-stack
    // host. Both rows bypass the save-time check, as regions saved before the setting was off.
    let (by_name, mapped, comp) = app
        .db(move |c| {
            (
                region_row(c, "by-name", &format!("http://localhost:{port}/hook")),
                region_row(
                    c,
                    "mapped",
                    &format!("http://[::ffff:127.0.0.1]:{port}/hook"),
                ),
                component(c, "probe-svc"),
            )
        })
        .await;
    let carol = app.signed_in("carol").await;
    for (region, name) in [(by_name, "to localhost"), (mapped, "to mapped loopback")] {
        let (task, status) = deploy(&app, name, region, &[comp]).await;
        assert_eq!(status, "release_failed", "{name}");
        let text = history(&carol, task).await;
        assert!(
            text.contains("refused:")
                && (text.contains("127.0.0.1 is a loopback address")
                    || text.contains("::1 is a loopback address"))
                && text.contains("--allow-private-webhooks"),
            "{name}: {text}"
        );
        assert!(
            !text.contains("attempt"),
            "a refusal is final, not retried: {text}"
        );
    }
    assert_eq!(receiver.calls(), 0, "nothing reached the loopback receiver");
    // Nothing was recorded in the regions' inventories.
    let entries = app
        .db(move |c| {
            regions::inventory_history(c, by_name, 10).unwrap().len()
                + regions::inventory_history(c, mapped, 10).unwrap().len()
        })
        .await;
    assert_eq!(entries, 0);
}

async fn only_workspace_admins_see_a_webhook_answer(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let (region, ok, bad) = app
        .db(move |c| {
            let (ws, carol) = (demo_ws(c), id_of(c, "carol"));
            let region = regions::save_region(
                c,
                carol,
                ws,
                None,
                &regions::RegionInput {
                    name: "loopback".into(),
                    display_order: 50,
                    driver: Driver::Webhook,
                    webhook_url: url,
                    secret: Some("webhook-test-signing-secret".into()),
                    timeout_ms: 2000,
                    max_attempts: 1,
                },
                PrivateDestinations::Allowed,
            )
            .unwrap()
            .id;
            (region, component(c, "leaky-ok"), component(c, "leaky-bad"))
        })
        .await;
    let (task, status) = deploy(&app, "leaky answers", region, &[ok, bad]).await;
    assert_eq!(status, "release_failed", "best effort: one of two failed");
    assert_eq!(receiver.calls(), 2);
    let secrets = ["SECRET-REPLY-1234", "SECRET-REPLY-5678"];
    for member in ["victor", "alice", "bob"] {
        let client = app.signed_in(member).await;
        let text = history(&client, task).await;
        assert!(
            text.contains("HTTP 200") && text.contains("HTTP 500"),
            "{member} sees the status: {text}"
        );
        for secret in secrets {
            assert!(!text.contains(secret), "{member} sees {secret}: {text}");
        }
        let raw = client
            .get(&format!(
                "/workspaces/demo/region-release/tasks/{task}?tab=history"
            ))
            .await;
        assert!(
            secrets.iter().all(|s| !raw.body.contains(s)),
            "{member}: not in the HTML at all"
        );
    }
    for admin in ["carol", "tara"] {
        let client = app.signed_in(admin).await;
        let text = history(&client, task).await;
        for secret in secrets {
            assert!(text.contains(secret), "{admin} sees the answer: {text}");
        }
    }
    // The audit log, which every member reads, records the outcome without the answer.
    let carol = app.signed_in("carol").await;
    for path in ["/workspaces/demo/audit", "/workspaces/demo/audit.csv"] {
        let page = carol.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains("leaky-ok in loopback"),
            "{path} has the deploy row"
        );
        for secret in secrets {
            assert!(!page.body.contains(secret), "{path} holds {secret}");
        }
    }
}

on_both_backends!(
    private_webhook_urls_are_accepted_when_an_operator_allows_them,
    only_workspace_admins_see_a_webhook_answer,
);

with_private_webhooks_refused!(
    private_webhook_urls_are_refused_when_a_region_is_saved,
    a_name_resolving_to_loopback_is_refused_when_sent,
);
