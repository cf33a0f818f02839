//! Region Release through HTTP: regions (drivers, write-only secrets), components (validated
//! configuration) and inventories — on SQLite and PostgreSQL.

mod support;

use releasedesk::domain::RegionTaskId;
use releasedesk::domain::StepId;
use releasedesk::paths;
use support::TestApp;

async fn admins_manage_regions_and_secrets_are_never_shown(app: TestApp) {
    let app = app.with_demo().await;
    let bob = app.signed_in("bob").await;
    assert_eq!(
        bob.post(
            &paths::regions("demo"),
            &[("name", "eu-west-1"), ("driver", "inventory")]
        )
        .await
        .status,
        403
    );
    let carol = app.signed_in("carol").await;
    let bad = carol
        .post(
            &paths::regions("demo"),
            &[
                ("name", "EU West!"),
                ("driver", "webhook"),
                ("webhook_url", "ftp://x"),
                ("secret", "short"),
                ("timeout_ms", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.texts("#name-error"),
        vec!["Use lowercase letters, digits and dashes, e.g. eu-west-1."]
    );
    assert_eq!(
        bad.texts("#webhook_url-error"),
        vec!["Enter the endpoint's http:// or https:// URL."]
    );
    assert_eq!(
        bad.texts("#secret-error"),
        vec!["A signing secret has 16 to 200 characters."]
    );
    assert!(bad.texts("#timeout_ms-error")[0].contains("100 to 60000"));
    assert_eq!(
        bad.value("#rg-secret"),
        None,
        "a secret is never rendered back"
    );

    let no_secret = carol
        .post(
            &paths::regions("demo"),
            &[
                ("name", "sa-east-1"),
                ("driver", "webhook"),
                ("webhook_url", "http://127.0.0.1:9/hook"),
            ],
        )
        .await;
    assert_eq!(
        no_secret.texts("#secret-error"),
        vec!["A webhook region needs a signing secret."]
    );
    let secret = "a-very-secret-signing-key";
    let ok = carol
        .post(
            &paths::regions("demo"),
            &[
                ("name", "sa-east-1"),
                ("display_order", "5"),
                ("driver", "webhook"),
                ("webhook_url", "http://127.0.0.1:9/hook"),
                ("secret", secret),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let page = carol.get(ok.location().unwrap()).await;
    assert!(!page.body.contains(secret), "the secret is not in the page");
    assert!(page.has("#rg-secret[placeholder^=stored]"));
    // Saving without a new secret keeps the stored one.
    let location = ok.location().unwrap().to_owned();
    let saved = carol
        .post(
            &location,
            &[
                ("name", "sa-east-1"),
                ("driver", "webhook"),
                ("webhook_url", "http://127.0.0.1:9/hook2"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let dup = carol
        .post(
            &paths::regions("demo"),
            &[("name", "sa-east-1"), ("driver", "inventory")],
        )
        .await;
    assert_eq!(
        dup.texts("#name-error"),
        vec!["A region named “sa-east-1” exists."]
    );
    let list = app
        .signed_in("victor")
        .await
        .get(&paths::regions("demo"))
        .await;
    assert!(
        list.texts("#regions td a")
            .contains(&"sa-east-1".to_owned())
    );
}

async fn components_are_validated(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;
    assert_eq!(
        victor
            .post(&paths::components("demo"), &[("name", "x")])
            .await
            .status,
        403
    );
    let alice = app.signed_in("alice").await;
    let bad = alice
        .post(
            &paths::components("demo"),
            &[
                ("name", "9api"),
                ("artifact", ""),
                ("version", "1 0"),
                ("instances", "-1"),
                ("cpu", "lots"),
                ("memory", "512Mb"),
                ("env", "lower=1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    for field in [
        "name",
        "artifact",
        "version",
        "instances",
        "cpu",
        "memory",
        "env",
    ] {
        assert!(bad.has(&format!("#{field}-error")), "{field}");
    }
    assert_eq!(bad.texts("#c-env"), vec!["lower=1"], "input kept");
    let ok = alice
        .post(
            &paths::components("demo"),
            &[
                ("name", "billing-api"),
                ("artifact", "registry.example.com/billing-api"),
                ("version", "2.0.1"),
                ("instances", "3"),
                ("cpu", "0.5"),
                ("memory", "1Gi"),
                ("env", "LOG_LEVEL=info\nREGION=<script>"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let list = alice.get(&paths::components("demo")).await;
    let row = list
        .texts("#components tbody tr")
        .into_iter()
        .find(|r| r.contains("billing-api"))
        .unwrap();
    assert!(
        row.contains("500m / 1Gi") && row.contains("REGION=<script>"),
        "{row}"
    );
    assert!(!list.body.contains("REGION=<script>"), "escaped in HTML");
}

mod flows {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use releasedesk::db::models::{region_release, regions, users, workspaces};
    use releasedesk::domain::{Driver, Operation, StepKind};
    use releasedesk::paths;

    use super::support::{Client, TestApp};

    /// A local webhook receiver on a free port: answers 200, or 500 while `fail` is set, and
    /// keeps every request's signature header and body.
    pub struct Receiver {
        pub url: String,
        pub fail: Arc<AtomicBool>,
        pub seen: Arc<Mutex<Vec<(String, String)>>>,
    }

    impl Receiver {
        pub fn start() -> Receiver {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            let fail = Arc::new(AtomicBool::new(false));
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (f, s) = (fail.clone(), seen.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read headers, then the body by Content-Length.
                    let (head, body) = loop {
                        let n = stream.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            break (String::new(), String::new());
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.to_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            while buf.len() < pos + 4 + len {
                                let n = stream.read(&mut chunk).unwrap_or(0);
                                if n == 0 {
                                    break;
                                }
                                buf.extend_from_slice(&chunk[..n]);
                            }
                            break (head, String::from_utf8_lossy(&buf[pos + 4..]).to_string());
                        }
                    };
                    let signature = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("x-releasedesk-signature:")
                                .or_else(|| l.strip_prefix("X-Releasedesk-Signature:"))
                                .map(|v| v.trim().to_owned())
                        })
                        .unwrap_or_default();
                    s.lock().unwrap().push((signature, body));
                    let (code, text) = if f.load(Ordering::SeqCst) {
                        (500, "boom: disk full")
                    } else {
                        (200, "deployed")
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    );
                }
            });
            Receiver { url, fail, seen }
        }
    }

    pub struct Fixture {
        pub ws: releasedesk::domain::WorkspaceId,
        pub carol: releasedesk::domain::UserId,
        pub bob: releasedesk::domain::UserId,
        pub eu: i64,
        pub us: i64,
        pub api: i64,
        pub worker: i64,
    }

    /// Regions eu (inventory) and us (webhook to `receiver`), two components, in a fresh
    /// workspace `rr` where carol is admin, bob deployer, alice developer.
    pub async fn fixture(app: &TestApp, receiver: &Receiver) -> Fixture {
        let url = receiver.url.clone();
        app.db(move |c| {
            let tara = users::find_by_username(c, "tara").unwrap().unwrap().id;
            let id = |c: &mut releasedesk::db::DbConn, n: &str| {
                users::find_by_username(c, n).unwrap().unwrap().id
            };
            let (carol, bob) = (id(c, "carol"), id(c, "bob"));
            let ws = workspaces::create(
                c,
                Some(tara),
                &releasedesk::domain::WorkspaceSlug::parse("rr").unwrap(),
                &releasedesk::domain::WorkspaceName::parse("Regions").unwrap(),
                &Default::default(),
                Some(carol),
            )
            .unwrap()
            .id;
            workspaces::add_member(c, carol, ws, "bob", releasedesk::domain::Role::Deployer)
                .unwrap();
            workspaces::add_member(c, carol, ws, "alice", releasedesk::domain::Role::Developer)
                .unwrap();
            let region =
                |c: &mut releasedesk::db::DbConn, name: &str, driver: Driver, url: &str| {
                    regions::save_region(
                        c,
                        carol,
                        ws,
                        None,
                        &regions::RegionInput {
                            name: name.into(),
                            display_order: 0,
                            driver,
                            webhook_url: url.into(),
                            secret: Some("test-signing-secret-123".into()),
                            timeout_ms: 2000,
                            max_attempts: 2,
                        },
                        releasedesk::domain::PrivateDestinations::Allowed,
                    )
                    .unwrap()
                    .id
                };
            let eu = region(c, "eu-west-1", Driver::Inventory, "");
            let us = region(c, "us-east-1", Driver::Webhook, &url);
            let comp = |c: &mut releasedesk::db::DbConn, name: &str| {
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
            };
            let api = comp(c, "api");
            let worker = comp(c, "worker");
            Fixture {
                ws,
                carol,
                bob,
                eu,
                us,
                api,
                worker,
            }
        })
        .await
    }

    pub async fn status(
        app: &TestApp,
        ws: releasedesk::domain::WorkspaceId,
        task: releasedesk::domain::RegionTaskId,
    ) -> String {
        app.db(move |c| {
            region_release::find(c, ws, task)
                .unwrap()
                .unwrap()
                .status
                .as_str()
                .to_owned()
        })
        .await
    }

    /// Waits (bounded) until the task leaves `from`.
    pub async fn settle(app: &TestApp, ws: releasedesk::domain::WorkspaceId, task: i64) -> String {
        let task = releasedesk::domain::RegionTaskId(task);
        for _ in 0..150 {
            let s = status(app, ws, task).await;
            if !matches!(s.as_str(), "releasing" | "rolling_back" | "suspending") {
                return s;
            }
            // A release waiting at a checkpoint stays `releasing`: look at its steps.
            let waiting = app
                .db(move |c| {
                    region_release::steps(c, task)
                        .unwrap()
                        .iter()
                        .any(|s| s.status.as_str() == "waiting")
                })
                .await;
            if waiting {
                return "waiting".into();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {task} still running");
    }

    /// One step of the form: kind, region, component ids, people ids.
    pub type StepSpec = (
        StepKind,
        Option<i64>,
        Vec<i64>,
        Vec<releasedesk::domain::UserId>,
    );

    /// Posts the create form; returns the new task id.
    pub async fn create_task(
        client: &Client,
        name: &str,
        op: Operation,
        best_effort: bool,
        steps: &[StepSpec],
    ) -> i64 {
        let mut fields: Vec<(String, String)> = vec![
            ("name".into(), name.into()),
            ("operation".into(), op.as_str().into()),
            ("rows".into(), steps.len().to_string()),
        ];
        if best_effort {
            fields.push(("best_effort".into(), "on".into()));
        }
        for (i, (kind, region, comps, people)) in steps.iter().enumerate() {
            fields.push((format!("step{i}_kind"), kind.as_str().into()));
            if let Some(r) = region {
                fields.push((format!("step{i}_region"), r.to_string()));
            }
            for c in comps {
                fields.push((format!("step{i}_components"), c.to_string()));
            }
            for p in people {
                fields.push((format!("step{i}_people"), p.to_string()));
            }
        }
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let resp = client.post(&paths::region_tasks("rr"), &refs).await;
        assert_eq!(resp.status, 303, "{}", resp.body);
        resp.location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}

use flows::*;
use releasedesk::domain::{Operation, StepKind};

async fn a_release_with_a_checkpoint_runs_to_the_end_and_rolls_back(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let (alice, bob, carol) = (
        app.signed_in("alice").await,
        app.signed_in("bob").await,
        app.signed_in("carol").await,
    );
    let task = create_task(
        &alice,
        "Roll out api",
        Operation::Deploy,
        false,
        &[
            (
                StepKind::Deploy,
                Some(fx.eu),
                vec![fx.api, fx.worker],
                vec![],
            ),
            (StepKind::Approval, None, vec![], vec![fx.carol, fx.bob]),
            (StepKind::Deploy, Some(fx.us), vec![fx.api], vec![]),
        ],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    assert_eq!(
        alice.execute("rr", RegionTaskId(task), None).await.status,
        403,
        "developers do not execute"
    );
    assert_eq!(
        bob.execute("rr", RegionTaskId(task), Some(1)).await.status,
        303
    );
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    let page = bob.get(&path).await;
    assert!(page.has("#step-2.step-waiting"));
    assert!(!page.has("#release-history"), "one view at a time");
    let frag = bob.get_htmx(&format!("{path}/process")).await;
    assert!(
        frag.has("#process[hx-trigger] #step-2.step-waiting"),
        "the live fragment: {}",
        frag.body
    );
    assert!(
        page.has("button[disabled][title^='The task is releasing']"),
        "Execute says why it is refused"
    );
    let again = bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(again.status, 409, "refused, with the task page and why");
    assert!(again.texts(".toast-error")[0].contains("releasing"));

    // Bob executed it, so he cannot pass its Manual Approval; carol can.
    let step2 = app
        .db(move |c| {
            releasedesk::db::models::region_release::steps(c, RegionTaskId(task)).unwrap()[1].id
        })
        .await;
    let refused = bob
        .decide_step("rr", RegionTaskId(task), step2, "agree", "")
        .await;
    assert_eq!(refused.status, 403);
    // Named, but the executor: the checkpoint is not on his Reviews page.
    assert!(
        !bob.get("/reviews")
            .await
            .texts("#checkpoints li")
            .iter()
            .any(|l| l.contains("Roll out api"))
    );
    assert!(
        carol
            .get("/reviews")
            .await
            .texts("#checkpoints li")
            .iter()
            .any(|l| l.contains("Roll out api"))
    );
    let empty_reject = carol
        .decide_step("rr", RegionTaskId(task), step2, "reject", "")
        .await;
    assert_eq!(empty_reject.status, 422);
    assert!(empty_reject.texts(".toast-error")[0].contains("Say why"));
    carol
        .decide_step("rr", RegionTaskId(task), step2, "agree", "go")
        .await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");

    // The webhook got a signed payload; the inventories show the new state.
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (signature, body) = &seen[0];
    assert_eq!(
        signature,
        &format!(
            "sha256={}",
            releasedesk::worker::drivers::sign("test-signing-secret-123", body.as_bytes())
        )
    );
    assert!(body.contains("\"action\":\"deploy\"") && body.contains("\"component\":\"api\""));
    let eu_page = carol
        .get(&format!("/workspaces/rr/regions/{}", fx.eu))
        .await;
    assert_eq!(
        eu_page.texts("#inventory tbody td.mono:first-child"),
        vec!["api", "worker"]
    );
    let history = carol.get(&format!("{path}?tab=history")).await;
    assert_eq!(
        history.texts("#release-history tbody tr").len(),
        3,
        "per component, per region"
    );

    // Rollback restores what was there before: nothing.
    let no_reason = carol.rollback("rr", RegionTaskId(task), "").await;
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.texts(".toast-error")[0].contains("Say why"));
    bob.post(
        &format!("{path}/rollback"),
        &[("reason", "smoke test failed")],
    )
    .await;
    assert_eq!(settle(&app, fx.ws, task).await, "rolled_back");
    let eu_page = carol
        .get(&format!("/workspaces/rr/regions/{}", fx.eu))
        .await;
    assert!(
        eu_page.texts("#inventory tbody tr.empty").len() == 1,
        "removed again"
    );
    assert!(
        receiver
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|(_, b)| b.contains("\"action\":\"rollback\""))
    );
    let history = carol.get(&format!("{path}?tab=history")).await;
    assert!(history.body.contains("smoke test failed"));
}

async fn best_effort_decides_whether_a_failure_stops_the_others(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    receiver
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    for (best_effort, name) in [(false, "strict"), (true, "lenient")] {
        let task = create_task(
            &bob,
            name,
            Operation::Deploy,
            best_effort,
            &[
                (
                    StepKind::Deploy,
                    Some(fx.us),
                    vec![fx.api, fx.worker],
                    vec![],
                ),
                (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
            ],
        )
        .await;
        bob.post(&paths::region_task_execute("rr", RegionTaskId(task)), &[])
            .await;
        assert_eq!(settle(&app, fx.ws, task).await, "release_failed", "{name}");
        let steps = app
            .db(move |c| {
                releasedesk::db::models::region_release::steps(c, RegionTaskId(task)).unwrap()
            })
            .await;
        if best_effort {
            assert_eq!(
                steps[1].status.as_str(),
                "succeeded",
                "the other region still got it"
            );
        } else {
            assert_eq!(
                steps[1].status.as_str(),
                "pending",
                "the first failure stopped the task"
            );
        }
        let history = bob
            .get(&format!(
                "/workspaces/rr/region-release/tasks/{task}?tab=history"
            ))
            .await;
        assert!(
            history.body.contains("HTTP 500 (after 2 attempts)")
                && !history.body.contains("boom: disk full"),
            "a deployer sees the status, not the endpoint's answer"
        );
        let admin_history = app
            .signed_in("carol")
            .await
            .get(&format!(
                "/workspaces/rr/region-release/tasks/{task}?tab=history"
            ))
            .await;
        assert!(
            admin_history.texts(".response-body")[0].contains("boom: disk full"),
            "an admin sees the endpoint's answer"
        );
        // Bulk Deploy of what already runs is refused when the task is defined.
        if best_effort {
            let again = bob
                .post(
                    &paths::region_tasks("rr"),
                    &[
                        ("name", "again"),
                        ("operation", "deploy"),
                        ("rows", "1"),
                        ("step0_kind", "deploy"),
                        ("step0_region", &fx.eu.to_string()),
                        ("step0_components", &fx.api.to_string()),
                    ],
                )
                .await;
            assert_eq!(again.status, 422);
            assert!(
                again.texts("#steps-error")[0]
                    .contains("already runs in eu-west-1; use Bulk Upgrade")
            );
        }
    }
}

async fn suspend_then_execute_resumes(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    let task = create_task(
        &bob,
        "pausable",
        Operation::Deploy,
        false,
        &[
            (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
            (StepKind::Trigger, None, vec![], vec![fx.bob]),
            (StepKind::Deploy, Some(fx.us), vec![fx.api], vec![]),
        ],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    bob.suspend("rr", RegionTaskId(task)).await;
    assert_eq!(status(&app, fx.ws, RegionTaskId(task)).await, "suspended");
    // Execute resumes from the first unfinished step (the trigger), not from the start.
    let page = bob.get(&path).await;
    assert_eq!(page.value("#ex-start option[selected]"), Some("2".into()));
    bob.execute("rr", RegionTaskId(task), Some(2)).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    let step2 = app
        .db(move |c| {
            releasedesk::db::models::region_release::steps(c, RegionTaskId(task)).unwrap()[1].id
        })
        .await;
    bob.decide_step("rr", RegionTaskId(task), step2, "agree", "")
        .await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");
    // eu was deployed once: the resumed run did not redeploy the finished step.
    let entries = app
        .db(move |c| {
            releasedesk::db::models::regions::inventory_history(c, fx.eu, 100)
                .unwrap()
                .len()
        })
        .await;
    assert_eq!(entries, 1);
}

async fn two_people_deciding_one_checkpoint_yield_one_decision(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let (bob, carol) = (app.signed_in("bob").await, app.signed_in("carol").await);
    let tara_id = app
        .db(|c| {
            releasedesk::db::models::users::find_by_username(c, "tara")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    let task = create_task(
        &bob,
        "contested",
        Operation::Deploy,
        false,
        &[
            (StepKind::Trigger, None, vec![], vec![fx.carol, tara_id]),
            (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
        ],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    let tara = app.signed_in("tara").await;
    let step = app
        .db(move |c| {
            releasedesk::db::models::region_release::steps(c, RegionTaskId(task)).unwrap()[0].id
        })
        .await;
    let url = format!("{path}/steps/{step}/decision");
    let (a, b) = tokio::join!(
        carol.post(&url, &[("decision", "agree"), ("comment", "ok")]),
        tara.post(&url, &[("decision", "reject"), ("comment", "no")]),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [303, 409], "one decides, the other is told");
    let loser = if a.status == 409 { &a } else { &b };
    assert!(!loser.texts(".toast-error").is_empty(), "{}", loser.body);
    let decisions = app
        .db(move |c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::step_comments;
            step_comments::table
                .filter(step_comments::step_id.eq(step))
                .filter(step_comments::decision.is_not_null())
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(decisions, 1, "exactly one decision recorded");
    let end = settle(&app, fx.ws, task).await;
    assert!(end == "released" || end == "release_failed", "{end}");
    let _ = fx.worker;
}

async fn demo_shows_all_nine_statuses(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let page = carol
        .get("/workspaces/demo/region-release/tasks?per_page=50")
        .await;
    let mut statuses = page.texts("#region-tasks tbody .badge");
    statuses.sort();
    statuses.dedup();
    assert_eq!(statuses.len(), 9, "{statuses:?}");
    let reviews = carol.get("/reviews").await;
    assert!(
        reviews
            .texts("#checkpoints li")
            .iter()
            .any(|l| l.contains("Upgrade payments-api to 2.4.0") && l.contains("Manual Approval"))
    );
}

async fn the_task_list_searches_by_name_through_the_index(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;
    let names = |q: &'static str| {
        let victor = &victor;
        async move {
            let path = format!(
                "/workspaces/demo/region-release/tasks?{}",
                serde_urlencoded::to_string([("q", q)]).unwrap()
            );
            let page = victor.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.body);
            page.texts("#region-tasks tbody td:first-child a")
        }
    };
    // Every word, in any order; the name starting with the query ranks first.
    assert_eq!(
        names("fx-rates deploy").await,
        vec![
            "Deploy fx-rates to eu-west-1 (retry)",
            "Deploy fx-rates to us-east-1 (next week)",
            "Deploy fx-rates to eu-west-1",
        ]
    );
    assert_eq!(
        names("upgrade payments").await,
        vec!["Upgrade payments-api to 2.4.0"]
    );
    // A typo still finds it (no name contains "paymnets").
    assert_eq!(
        names("paymnets").await[0],
        "Deploy payments to ap-southeast-1"
    );
    assert!(names("zzzz-nothing").await.is_empty());
    // Filters combine with the search.
    let page = victor
        .get("/workspaces/demo/region-release/tasks?q=fx-rates&status=to_release")
        .await;
    assert_eq!(
        page.texts("#region-tasks tbody td:first-child a"),
        vec!["Deploy fx-rates to us-east-1 (next week)"]
    );
}

async fn clone_and_upgrade_follow_the_inventory(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    // Upgrade needs the component running; Clone needs it in the source region.
    let refused = bob
        .post(
            &paths::region_tasks("rr"),
            &[
                ("name", "up"),
                ("operation", "upgrade"),
                ("rows", "1"),
                ("step0_kind", "deploy"),
                ("step0_region", &fx.eu.to_string()),
                ("step0_components", &fx.api.to_string()),
            ],
        )
        .await;
    assert!(
        refused.texts("#steps-error")[0].contains("does not run in eu-west-1 yet; use Bulk Deploy")
    );
    let deploy = create_task(
        &bob,
        "first",
        Operation::Deploy,
        false,
        &[(StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![])],
    )
    .await;
    bob.post(&paths::region_task_execute("rr", RegionTaskId(deploy)), &[])
        .await;
    assert_eq!(settle(&app, fx.ws, deploy).await, "released");
    let no_source = bob
        .post(
            &paths::region_tasks("rr"),
            &[
                ("name", "clone"),
                ("operation", "clone"),
                ("rows", "1"),
                ("step0_kind", "deploy"),
                ("step0_region", &fx.us.to_string()),
                ("step0_components", &fx.api.to_string()),
            ],
        )
        .await;
    assert_eq!(
        no_source.texts("#source_region-error"),
        vec!["Bulk Clone copies from a source region: choose one."]
    );
    let clone = bob
        .post(
            &paths::region_tasks("rr"),
            &[
                ("name", "clone api"),
                ("operation", "clone"),
                ("source_region", &fx.eu.to_string()),
                ("rows", "1"),
                ("step0_kind", "deploy"),
                ("step0_region", &fx.us.to_string()),
                ("step0_components", &fx.api.to_string()),
            ],
        )
        .await;
    assert_eq!(clone.status, 303, "{}", clone.body);
    let clone_id: i64 = clone
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    bob.post(
        &paths::region_task_execute("rr", RegionTaskId(clone_id)),
        &[],
    )
    .await;
    assert_eq!(settle(&app, fx.ws, clone_id).await, "released");
    let body = receiver.seen.lock().unwrap().last().unwrap().1.clone();
    assert!(
        body.contains("\"version\":\"1.0.0\"") && body.contains("\"artifact\":\"img/api\""),
        "the source region's configuration: {body}"
    );
    let facts = app
        .signed_in("carol")
        .await
        .get(&paths::region_task("rr", RegionTaskId(clone_id)))
        .await
        .texts("#task-facts dd");
    assert!(facts[0].ends_with("from eu-west-1"), "{facts:?}");
    assert!(facts[2].ends_with("by bob"), "{facts:?}");
    assert_eq!(facts[3], "bob", "released by");
    let upgrade = create_task(
        &bob,
        "upgrade",
        Operation::Upgrade,
        false,
        &[(StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![])],
    )
    .await;
    bob.post(
        &paths::region_task_execute("rr", RegionTaskId(upgrade)),
        &[],
    )
    .await;
    assert_eq!(settle(&app, fx.ws, upgrade).await, "released");
}

async fn rejecting_either_checkpoint_fails_the_release(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let (bob, carol) = (app.signed_in("bob").await, app.signed_in("carol").await);
    for kind in [StepKind::Approval, StepKind::Trigger] {
        let task = create_task(
            &bob,
            kind.label(),
            Operation::Deploy,
            false,
            &[
                (kind, None, vec![], vec![fx.carol]),
                (StepKind::Deploy, Some(fx.eu), vec![fx.worker], vec![]),
            ],
        )
        .await;
        let path = paths::region_task("rr", RegionTaskId(task));
        bob.execute("rr", RegionTaskId(task), None).await;
        assert_eq!(settle(&app, fx.ws, task).await, "waiting");
        let step = app
            .db(move |c| {
                releasedesk::db::models::region_release::steps(c, RegionTaskId(task)).unwrap()[0].id
            })
            .await;
        carol
            .decide_step("rr", RegionTaskId(task), step, "reject", "not today")
            .await;
        assert_eq!(
            status(&app, fx.ws, RegionTaskId(task)).await,
            "release_failed",
            "{kind:?}"
        );
        let page = carol.get(&path).await;
        assert!(page.texts("#step-1").join(" ").contains("not today"));
        assert!(
            !page.has("button[data-dialog-open=rollback-dialog]"),
            "nothing deployed, so nothing to roll back"
        );
        assert!(page.has("button[data-dialog-open=execute-dialog]"));
        assert!(
            app.db(
                move |c| releasedesk::db::models::regions::current_inventory(c, fx.eu)
                    .unwrap()
                    .is_empty()
            )
            .await,
            "nothing deployed"
        );
    }
}

async fn a_rollback_the_driver_refuses_ends_rollback_failed(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    let task = create_task(
        &bob,
        "to undo",
        Operation::Deploy,
        false,
        &[(StepKind::Deploy, Some(fx.us), vec![fx.api], vec![])],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");
    receiver
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    bob.rollback("rr", RegionTaskId(task), "bad build").await;
    assert_eq!(settle(&app, fx.ws, task).await, "rollback_failed");
    // Fixed endpoint: rolling back again succeeds.
    receiver
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    bob.post(
        &format!("{path}/rollback"),
        &[("reason", "retry after the endpoint recovered")],
    )
    .await;
    assert_eq!(settle(&app, fx.ws, task).await, "rolled_back");
}

async fn re_executing_a_failed_step_skips_what_it_already_deployed(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    // Best effort: eu's api succeeds, us's api fails; the task ends release_failed.
    receiver
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let task = create_task(
        &bob,
        "partial",
        Operation::Deploy,
        true,
        &[
            (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
            (StepKind::Deploy, Some(fx.us), vec![fx.api], vec![]),
        ],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "release_failed");
    let card = bob.get(&path).await.texts("#step-2").join(" ");
    assert!(
        card.contains("1 of 1 component failed; first api: HTTP 500"),
        "the card says why: {card}"
    );
    receiver
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // Execute again from the first step: eu is not deployed twice (Bulk Deploy would refuse).
    bob.execute("rr", RegionTaskId(task), Some(1)).await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");
    let eu_entries = app
        .db(move |c| {
            releasedesk::db::models::regions::inventory_history(c, fx.eu, 100)
                .unwrap()
                .len()
        })
        .await;
    assert_eq!(eu_entries, 1);
    let history = bob.get(&format!("{path}?tab=history")).await;
    assert!(history.body.contains("already deployed by release #1"));
    let mut runs = history.texts("#release-history h2");
    runs.sort();
    assert_eq!(
        runs,
        vec!["Release #1", "Release #2"],
        "numbered within the task"
    );
    assert!(
        history
            .texts("#release-history .badge")
            .iter()
            .any(|b| b == "Succeeded")
    );
}

async fn checkpoints_name_only_people_who_may_act(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let alice_id = app
        .db(|c| {
            releasedesk::db::models::users::find_by_username(c, "alice")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    let bob = app.signed_in("bob").await;
    let refused = bob
        .post(
            &paths::region_tasks("rr"),
            &[
                ("name", "x"),
                ("operation", "deploy"),
                ("rows", "2"),
                ("step0_kind", "approval"),
                ("step0_people", &alice_id.to_string()),
                ("step1_kind", "deploy"),
                ("step1_region", &fx.eu.to_string()),
                ("step1_components", &fx.api.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.texts("#steps-error")[0].contains("alice cannot act on a Manual Approval"));
    // The executor's own Manual Approval is not on their Reviews page.
    let task = create_task(
        &bob,
        "self",
        Operation::Deploy,
        false,
        &[
            (StepKind::Approval, None, vec![], vec![fx.bob, fx.carol]),
            (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
        ],
    )
    .await;
    bob.post(&paths::region_task_execute("rr", RegionTaskId(task)), &[])
        .await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    assert!(
        !bob.get("/reviews")
            .await
            .texts("#checkpoints li")
            .iter()
            .any(|l| l.contains("self"))
    );
    // Another workspace's ids answer 404.
    let victor = app.signed_in("victor").await;
    assert_eq!(
        victor
            .get(&paths::region_task("rr", RegionTaskId(task)))
            .await
            .status,
        404
    );
    let carol = app.signed_in("carol").await;
    assert_eq!(
        carol
            .get(&paths::region_task("demo", RegionTaskId(task)))
            .await
            .status,
        404,
        "the id under another workspace"
    );
    assert_eq!(
        carol
            .get(&format!("/workspaces/demo/regions/{}", fx.eu))
            .await
            .status,
        404
    );
}

/// The ids of a task's steps, in order.
async fn step_ids(app: &TestApp, task: RegionTaskId) -> Vec<StepId> {
    app.db(move |c| {
        releasedesk::db::models::region_release::steps(c, task)
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect()
    })
    .await
}

async fn eu_inventory_len(app: &TestApp, eu: i64) -> usize {
    app.db(move |c| {
        releasedesk::db::models::regions::current_inventory(c, eu)
            .unwrap()
            .len()
    })
    .await
}

/// Issue 20, finding 1: Execute with a start after an undecided checkpoint deployed without
/// the named approver. Now it is refused for both kinds of checkpoint, nothing is deployed,
/// and the dialog offers only the steps up to the checkpoint, saying why.
async fn execute_cannot_start_after_an_undecided_checkpoint(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    for kind in [StepKind::Approval, StepKind::Trigger] {
        let task = create_task(
            &bob,
            &format!("skip {}", kind.label()),
            Operation::Deploy,
            false,
            &[
                (kind, None, vec![], vec![fx.carol]),
                (StepKind::Deploy, Some(fx.eu), vec![fx.worker], vec![]),
            ],
        )
        .await;
        let path = paths::region_task("rr", RegionTaskId(task));
        let page = bob.get(&path).await;
        assert_eq!(
            page.texts("#ex-start option"),
            vec![format!("1. {} (Not started)", kind.label())],
            "only the checkpoint is offered"
        );
        assert!(
            page.texts("#ex-start-limit")[0].contains("Steps after 1 are not offered"),
            "the dialog says why"
        );
        let skip = bob.execute("rr", RegionTaskId(task), Some(2)).await;
        assert_eq!(skip.status, 422, "{kind:?}");
        assert!(
            skip.texts(".toast-error")[0].contains("is not agreed in this run"),
            "{:?}",
            skip.texts(".toast-error")
        );
        assert_eq!(status(&app, fx.ws, RegionTaskId(task)).await, "to_release");
        assert_eq!(eu_inventory_len(&app, fx.eu).await, 0, "nothing deployed");
        // Through the data layer too, whoever calls it.
        let refused = app
            .db(move |c| {
                releasedesk::db::models::region_release::execute(
                    c,
                    fx.bob,
                    fx.ws,
                    RegionTaskId(task),
                    Some(2),
                )
            })
            .await;
        assert!(matches!(
            refused,
            Err(releasedesk::error::AppError::Field { .. })
        ));
    }
}

/// Issue 20, finding 2: a rejected checkpoint was overridden by executing from the step after
/// it. Now only a start at or before it is allowed, and that asks again.
async fn execute_cannot_override_a_rejected_checkpoint(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let (bob, carol) = (app.signed_in("bob").await, app.signed_in("carol").await);
    let task = create_task(
        &bob,
        "rejected once",
        Operation::Deploy,
        false,
        &[
            (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
            (StepKind::Approval, None, vec![], vec![fx.carol]),
            (StepKind::Deploy, Some(fx.eu), vec![fx.worker], vec![]),
        ],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    let steps = step_ids(&app, RegionTaskId(task)).await;
    carol
        .decide_step(
            "rr",
            RegionTaskId(task),
            steps[1],
            "reject",
            "not this week",
        )
        .await;
    assert_eq!(
        status(&app, fx.ws, RegionTaskId(task)).await,
        "release_failed"
    );
    let page = bob.get(&path).await;
    assert_eq!(
        page.value("#ex-start option[selected]"),
        Some("2".into()),
        "the default start asks the checkpoint again"
    );
    assert_eq!(page.texts("#ex-start option").len(), 2);
    assert!(page.texts("#ex-start-limit")[0].contains("was rejected"));
    let over = bob.execute("rr", RegionTaskId(task), Some(3)).await;
    assert_eq!(over.status, 422);
    assert!(over.texts(".toast-error")[0].contains("was rejected"));
    assert_eq!(
        status(&app, fx.ws, RegionTaskId(task)).await,
        "release_failed"
    );
    assert_eq!(eu_inventory_len(&app, fx.eu).await, 1, "only step 1's api");

    // Executing from the checkpoint asks again; agreed, the release finishes.
    assert_eq!(
        bob.execute("rr", RegionTaskId(task), Some(2)).await.status,
        303
    );
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    carol
        .decide_step("rr", RegionTaskId(task), steps[1], "agree", "fixed")
        .await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");
    assert_eq!(eu_inventory_len(&app, fx.eu).await, 2);
}

/// What "agreed in this run" means across suspend, failure and rollback (docs/ARCHITECTURE.md):
/// a suspended checkpoint is undecided; an agreement survives a failed later step (a retry runs
/// past it), but never for the person who agreed it; a rollback voids every agreement.
async fn checkpoint_agreements_across_suspend_failure_and_rollback(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let (bob, carol) = (app.signed_in("bob").await, app.signed_in("carol").await);
    let task = create_task(
        &bob,
        "through everything",
        Operation::Deploy,
        false,
        &[
            (StepKind::Approval, None, vec![], vec![fx.carol, fx.bob]),
            (StepKind::Deploy, Some(fx.us), vec![fx.api], vec![]),
        ],
    )
    .await;
    let path = paths::region_task("rr", RegionTaskId(task));
    let steps = step_ids(&app, RegionTaskId(task)).await;

    // Suspended while waiting: the checkpoint is undecided again.
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    bob.suspend("rr", RegionTaskId(task)).await;
    assert_eq!(status(&app, fx.ws, RegionTaskId(task)).await, "suspended");
    let resume_past = bob.execute("rr", RegionTaskId(task), Some(2)).await;
    assert_eq!(resume_past.status, 422, "resume cannot skip it");

    // Agreed, then the deploy fails: a retry from the failed step runs past the agreement.
    receiver
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    bob.execute("rr", RegionTaskId(task), Some(1)).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    carol
        .decide_step("rr", RegionTaskId(task), steps[0], "agree", "")
        .await;
    assert_eq!(settle(&app, fx.ws, task).await, "release_failed");
    receiver
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // Carol agreed the approval: she may not be the one who executes past it.
    let own = carol.execute("rr", RegionTaskId(task), Some(2)).await;
    assert_eq!(own.status, 422);
    assert!(own.texts(".toast-error")[0].contains("you agreed"));
    assert_eq!(
        carol.get(&path).await.texts("#ex-start option").len(),
        1,
        "her dialog offers only the checkpoint"
    );
    assert_eq!(
        bob.get(&path).await.value("#ex-start option[selected]"),
        Some("2".into()),
        "bob's retry defaults to the failed step"
    );
    bob.execute("rr", RegionTaskId(task), Some(2)).await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");

    // A rollback that fails voids the agreement: Execute must ask again.
    receiver
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    bob.rollback("rr", RegionTaskId(task), "bad build").await;
    assert_eq!(settle(&app, fx.ws, task).await, "rollback_failed");
    receiver
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let after_rollback = bob.execute("rr", RegionTaskId(task), Some(2)).await;
    assert_eq!(after_rollback.status, 422);
    assert!(after_rollback.texts(".toast-error")[0].contains("rollback"));
    bob.execute("rr", RegionTaskId(task), Some(1)).await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
}

/// Defence in depth: an execution that reaches the worker with a start past an undecided
/// checkpoint (a path that forgot the rule, simulated by writing the rows directly) fails
/// before it deploys anything.
async fn the_worker_never_deploys_past_an_undecided_checkpoint(app: TestApp) {
    use diesel::prelude::*;
    use releasedesk::db::schema::{region_executions, region_tasks};
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let bob = app.signed_in("bob").await;
    let task = create_task(
        &bob,
        "forged start",
        Operation::Deploy,
        false,
        &[
            (StepKind::Approval, None, vec![], vec![fx.carol]),
            (StepKind::Deploy, Some(fx.eu), vec![fx.worker], vec![]),
        ],
    )
    .await;
    app.db(move |c| {
        diesel::update(region_tasks::table.find(task))
            .set(region_tasks::status.eq("releasing"))
            .execute(c)
            .unwrap();
        let exec: i64 = diesel::insert_into(region_executions::table)
            .values((
                region_executions::task_id.eq(task),
                region_executions::kind.eq("release"),
                region_executions::start_position.eq(2),
                region_executions::started_by.eq(Some(fx.bob)),
                region_executions::reason.eq(""),
                region_executions::status.eq("running"),
                region_executions::started_at.eq(releasedesk::db::now()),
            ))
            .returning(region_executions::id)
            .get_result(c)
            .unwrap();
        releasedesk::db::models::jobs::enqueue(
            c,
            releasedesk::db::models::region_release::QUEUE,
            &exec.to_string(),
        )
        .unwrap();
    })
    .await;
    assert_eq!(settle(&app, fx.ws, task).await, "release_failed");
    assert_eq!(eu_inventory_len(&app, fx.eu).await, 0, "nothing deployed");
    let page = bob.get(&paths::region_task("rr", RegionTaskId(task))).await;
    assert!(
        page.texts("#step-2").join(" ").contains("not run"),
        "{:?}",
        page.texts("#step-2")
    );
}

/// Issue 25, item 2: the task list's Operation column starts a release (seed 001): Execute for
/// deployers on a task that can run, opening the task with its Execute dialog; never for a
/// developer, nor on a running task.
async fn the_task_list_offers_execute_in_its_operation_column(app: TestApp) {
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let (alice, bob) = (app.signed_in("alice").await, app.signed_in("bob").await);
    let task = create_task(
        &bob,
        "from the list",
        Operation::Deploy,
        false,
        &[
            (StepKind::Approval, None, vec![], vec![fx.carol]),
            (StepKind::Deploy, Some(fx.eu), vec![fx.api], vec![]),
        ],
    )
    .await;
    let execute = format!("/workspaces/rr/region-release/tasks/{task}?execute=1");
    let link = format!("#region-tasks a[href='{execute}']");
    let list = bob.get(&paths::region_tasks("rr")).await;
    assert!(list.has(&link), "{}", list.body);
    assert!(
        !alice.get(&paths::region_tasks("rr")).await.has(&link),
        "developers do not execute"
    );
    let page = bob.get(&execute).await;
    assert!(page.has("#execute-dialog[data-open-on-load]"));
    assert!(
        !bob.get(&paths::region_task("rr", RegionTaskId(task)))
            .await
            .has("#execute-dialog[data-open-on-load]")
    );
    bob.post(&paths::region_task_execute("rr", RegionTaskId(task)), &[])
        .await;
    assert_eq!(settle(&app, fx.ws, task).await, "waiting");
    assert!(
        !bob.get(&paths::region_tasks("rr")).await.has(&link),
        "not while it runs"
    );
}

/// Outbox rows of `kind` for the workspace, as (recipient, actor-free) user ids.
async fn told(
    app: &TestApp,
    ws: releasedesk::domain::WorkspaceId,
    kind: releasedesk::db::models::notifications::NotificationKind,
) -> Vec<releasedesk::domain::UserId> {
    use releasedesk::db::models::notifications;
    app.db(move |c| {
        notifications::list(c, ws)
            .unwrap()
            .into_iter()
            .filter(|d| d.kind == kind)
            .filter_map(|d| d.user_id)
            .collect()
    })
    .await
}

/// Email for every kind for `people` (most outcomes are off by default), so the outbox shows
/// every row `raise` is asked for.
async fn wants_everything(app: &TestApp, people: Vec<releasedesk::domain::UserId>) {
    use releasedesk::db::models::preferences;
    app.db(move |c| {
        let all: Vec<_> = preferences::choosable().collect();
        for person in people {
            preferences::save(c, person, &all, None).unwrap();
        }
    })
    .await
}

async fn the_executor_hears_how_each_run_ended(app: TestApp) {
    use releasedesk::db::models::notifications::NotificationKind as K;
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    wants_everything(&app, vec![fx.bob, fx.carol]).await;
    let (bob, carol) = (app.signed_in("bob").await, app.signed_in("carol").await);
    let task = create_task(
        &bob,
        "told",
        Operation::Deploy,
        false,
        &[(StepKind::Deploy, Some(fx.us), vec![fx.api], vec![])],
    )
    .await;
    bob.execute("rr", RegionTaskId(task), None).await;
    assert_eq!(settle(&app, fx.ws, task).await, "released");
    assert_eq!(told(&app, fx.ws, K::RegionTaskReleased).await, vec![fx.bob]);
    receiver
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Carol rolls back: she is told how her rollback ended, not bob.
    carol.rollback("rr", RegionTaskId(task), "bad build").await;
    assert_eq!(settle(&app, fx.ws, task).await, "rollback_failed");
    assert_eq!(
        told(&app, fx.ws, K::RegionTaskRollbackFailed).await,
        vec![fx.carol]
    );
    receiver
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    bob.rollback("rr", RegionTaskId(task), "again").await;
    assert_eq!(settle(&app, fx.ws, task).await, "rolled_back");
    assert_eq!(
        told(&app, fx.ws, K::RegionTaskRolledBack).await,
        vec![fx.bob]
    );
    assert!(told(&app, fx.ws, K::RegionTaskFailed).await.is_empty());
}

async fn a_checkpoint_decision_tells_the_executor_and_the_others_named(app: TestApp) {
    use releasedesk::db::models::notifications::NotificationKind as K;
    let app = app.with_demo().await;
    let receiver = Receiver::start();
    let fx = fixture(&app, &receiver).await;
    let tara = app
        .db(|c| {
            releasedesk::db::models::users::find_by_username(c, "tara")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    wants_everything(&app, vec![fx.bob, fx.carol, tara]).await;
    let (bob, carol) = (app.signed_in("bob").await, app.signed_in("carol").await);
    let mut tasks = Vec::new();
    for name in ["agreed", "rejected"] {
        let task = create_task(
            &bob,
            name,
            Operation::Deploy,
            false,
            &[
                (StepKind::Approval, None, vec![], vec![fx.carol, tara]),
                (StepKind::Deploy, Some(fx.eu), vec![fx.worker], vec![]),
            ],
        )
        .await;
        bob.execute("rr", RegionTaskId(task), None).await;
        assert_eq!(settle(&app, fx.ws, task).await, "waiting");
        tasks.push(task);
    }
    let mut waiting = told(&app, fx.ws, K::CheckpointWaiting).await;
    waiting.sort();
    let mut both = vec![fx.carol, tara, fx.carol, tara];
    both.sort();
    assert_eq!(waiting, both, "each named person, for each task");

    // Agreed: the executor and tara (named, no longer needed) hear it; carol decided.
    let step = step_ids(&app, RegionTaskId(tasks[0])).await[0];
    carol
        .decide_step("rr", RegionTaskId(tasks[0]), step, "agree", "")
        .await;
    assert_eq!(settle(&app, fx.ws, tasks[0]).await, "released");
    let mut decided = told(&app, fx.ws, K::CheckpointDecided).await;
    decided.sort();
    let mut want = vec![fx.bob, tara];
    want.sort();
    assert_eq!(decided, want);
    assert_eq!(told(&app, fx.ws, K::RegionTaskReleased).await, vec![fx.bob]);

    // Rejected: the executor hears that the release failed, once, with carol's reason.
    let step = step_ids(&app, RegionTaskId(tasks[1])).await[0];
    carol
        .decide_step("rr", RegionTaskId(tasks[1]), step, "reject", "not today")
        .await;
    assert_eq!(
        status(&app, fx.ws, RegionTaskId(tasks[1])).await,
        "release_failed"
    );
    assert_eq!(told(&app, fx.ws, K::RegionTaskFailed).await, vec![fx.bob]);
    let mut decided = told(&app, fx.ws, K::CheckpointDecided).await;
    decided.sort();
    let mut want = vec![fx.bob, tara, tara];
    want.sort();
    assert_eq!(decided, want, "tara again; bob was told by the failure");
}

on_both_backends!(
    the_executor_hears_how_each_run_ended,
    a_checkpoint_decision_tells_the_executor_and_the_others_named,
    the_task_list_offers_execute_in_its_operation_column,
    execute_cannot_start_after_an_undecided_checkpoint,
    execute_cannot_override_a_rejected_checkpoint,
    checkpoint_agreements_across_suspend_failure_and_rollback,
    the_worker_never_deploys_past_an_undecided_checkpoint,
    re_executing_a_failed_step_skips_what_it_already_deployed,
    checkpoints_name_only_people_who_may_act,
    clone_and_upgrade_follow_the_inventory,
    rejecting_either_checkpoint_fails_the_release,
    a_rollback_the_driver_refuses_ends_rollback_failed,
    admins_manage_regions_and_secrets_are_never_shown,
    components_are_validated,
    a_release_with_a_checkpoint_runs_to_the_end_and_rolls_back,
    best_effort_decides_whether_a_failure_stops_the_others,
    suspend_then_execute_resumes,
    two_people_deciding_one_checkpoint_yield_one_decision,
    demo_shows_all_nine_statuses,
    the_task_list_searches_by_name_through_the_index,
);
