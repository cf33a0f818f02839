//! Crash and restart with the real binary: the release worker runs in a `releasedesk serve`
//! child process on the test's database; the test kills it (SIGKILL) in the middle of a
//! 100-task package release and in the middle of a region release step, starts it again, and
//! checks that every task and component completed exactly once with its audit row. SIGTERM
//! finishes the component in flight, hands the job back, and exits cleanly.

mod support;

use releasedesk::domain::RegionTaskId;
use releasedesk::domain::{UserId, WorkspaceId};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use releasedesk::db::DbConn;
use releasedesk::db::models::{region_release, regions, releases, scripts, users, workspaces};
use releasedesk::db::schema::{
    audit_log, execution_results, inventory_entries, jobs, package_tasks, production_history,
    release_packages, release_tasks,
};
use releasedesk::domain::{Driver, Operation, StepKind};
use support::TestApp;

/// Lease of the child's job claims: a killed worker's job is resumed this soon after restart.
const LEASE_SECONDS: &str = "2";

/// A `releasedesk serve` child on the test's database, with its output kept for failures.
struct Server {
    child: Child,
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(database_url: &str) -> Server {
        Server::start_with(database_url, &[])
    }

    fn start_with(database_url: &str, extra: &[&str]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_releasedesk"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .args(["--job-lease-seconds", LEASE_SECONDS, "--workers", "1"])
            // The tests' webhook receiver listens on 127.0.0.1.
            .arg("--allow-private-webhooks")
            .args(extra)
            .env_remove("DATABASE_URL")
            .env("RELEASEDESK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start releasedesk serve");
        Server { child, log }
    }

    fn output(&self) -> String {
        let mut s = String::new();
        let _ = self.log.reopen().unwrap().read_to_string(&mut s);
        s
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status once it has shut down (bounded).
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let out = self.output();
                return (status, out);
            }
            assert!(
                Instant::now() < deadline,
                "no exit 30 s after SIGTERM:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test app serves pages and holds the database; only the child runs the worker.
async fn app_without_worker(app: TestApp) -> Option<TestApp> {
    let backend = app.backend;
    drop(app);
    let app = TestApp::spawn_with(backend, |s| s.run_worker = false).await?;
    Some(app.with_demo().await)
}

fn id_of(c: &mut DbConn, name: &str) -> UserId {
    users::find_by_username(c, name).unwrap().unwrap().id
}

fn demo_ws(c: &mut DbConn) -> WorkspaceId {
    workspaces::find_by_slug(c, "demo").unwrap().unwrap().id
}

/// Polls `probe` every few milliseconds until it returns `Some` (bounded).
fn wait_for<T>(what: &str, server: Option<&Server>, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}\n{}",
                server.map(Server::output).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

async fn a_killed_package_release_resumes_and_applies_each_task_once(app: TestApp) {
    let Some(app) = app_without_worker(app).await else {
        return;
    };
    let url = app.database_url.clone();
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        let c = &mut *pool.get().unwrap();
        let (ws, bob) = (demo_ws(c), id_of(c, "bob"));
        let mut task_ids = Vec::new();
        for i in 0..100 {
            let path = releasedesk::domain::ScriptPath::parse(&format!("crash/k_{i:03}.sql"));
            let draft = scripts::ScriptDraft {
                script_type: releasedesk::domain::ScriptType::Sql,
                schedule: String::new(),
                description: Default::default(),
                content: format!("SELECT {i};\n"),
            };
            let s = scripts::create(c, bob, ws, &path.unwrap(), &draft).unwrap();
            let v = scripts::submit_version(c, bob, ws, s.id, "crash test").unwrap();
            task_ids.push(v.task_id.unwrap());
        }
        // A deployer releases without review: the package is releasing with its job queued.
        let req = releases::ReleaseRequest {
            task_ids: task_ids.clone(),
            name: "killed mid-release".parse().unwrap(),
            comment: Default::default(),
            reviewers: vec![],
        };
        let package = releases::release(c, bob, ws, &req).unwrap().package_id;
        let done = |c: &mut DbConn| -> (i32, String) {
            release_packages::table
                .find(package)
                .select((release_packages::done_count, release_packages::status))
                .first(c)
                .unwrap()
        };

        let server = Server::start(&url);
        let at_kill = wait_for("the first released task", Some(&server), || {
            let (n, _) = done(c);
            (n > 0).then_some(n)
        });
        server.kill();
        let (after_kill, status) = done(c);
        assert!(
            after_kill < 100 && status == "releasing",
            "the kill came after the release finished ({after_kill} done, {status}): nothing was tested"
        );
        assert!(after_kill >= at_kill);

        // Restarted, the worker resumes once the dead one's lease expires.
        let server = Server::start(&url);
        wait_for("the package to finish", Some(&server), || {
            let (_, s) = done(c);
            (s != "releasing").then_some(())
        });
        let (n, status) = done(c);
        assert_eq!((n, status.as_str()), (100, "released"));
        let failed: i32 = release_packages::table
            .find(package)
            .select(release_packages::failed_count)
            .first(c)
            .unwrap();
        assert_eq!(failed, 0);
        let statuses: Vec<String> = package_tasks::table
            .filter(package_tasks::package_id.eq(package))
            .select(package_tasks::release_status)
            .load(c)
            .unwrap();
        assert_eq!(statuses.len(), 100);
        assert!(statuses.iter().all(|s| s == "released"), "{statuses:?}");
        let released_tasks: i64 = release_tasks::table
            .filter(release_tasks::id.eq_any(&task_ids))
            .filter(release_tasks::status.eq("released"))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(released_tasks, 100);
        // Each task reached production exactly once, with exactly one audit row.
        let history: i64 = production_history::table
            .filter(production_history::package_id.eq(package))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(history, 100, "production applied each task once");
        let audited: Vec<Option<i64>> = audit_log::table
            .filter(audit_log::action.eq("task.released"))
            .filter(audit_log::target_id.eq_any(task_ids.iter().map(|&t| Some(t))))
            .select(audit_log::target_id)
            .load(c)
            .unwrap();
        assert_eq!(audited.len(), 100, "one audit row per task, none lost");
        let mut distinct = audited.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 100);
        let finished: i64 = audit_log::table
            .filter(audit_log::action.eq("package.released"))
            .filter(audit_log::target_id.eq(package))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(finished, 1);
        eprintln!("killed after {after_kill} of 100 tasks; resumed and finished the rest once");
        drop(server);
    })
    .await
    .unwrap();
}

/// A webhook receiver that holds each request for `delay` before answering 200, and keeps each
/// request's delivery id and the component it names, in arrival order.
struct SlowReceiver {
    url: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl SlowReceiver {
    fn start(delay: Duration) -> SlowReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head, body) = loop {
                        let n = stream.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            while buf.len() < pos + 4 + len {
                                let n = stream.read(&mut chunk).unwrap_or(0);
                                if n == 0 {
                                    break;
                                }
                                buf.extend_from_slice(&chunk[..n]);
                            }
                            break (head, buf[pos + 4..].to_vec());
                        }
                    };
                    let delivery = head
                        .lines()
                        .find_map(|l| l.strip_prefix("x-releasedesk-delivery:"))
                        .unwrap_or_default()
                        .trim()
                        .to_owned();
                    let component = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["component"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    s.lock().unwrap().push((delivery, component));
                    std::thread::sleep(delay);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\ndeployed"
                    );
                });
            }
        });
        SlowReceiver { url, seen }
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

/// In the demo workspace: a webhook region and an inventory region, three new components, and a
/// Bulk Deploy task of two steps (webhook region, then inventory region), executed by bob.
/// Returns (workspace, task, execution).
fn executed_region_task(
    c: &mut DbConn,
    hook_url: &str,
    tag: &str,
) -> (WorkspaceId, RegionTaskId, i64) {
    let (ws, carol, bob) = (demo_ws(c), id_of(c, "carol"), id_of(c, "bob"));
    let region = |c: &mut DbConn, name: String, driver: Driver, url: &str| {
        regions::save_region(
            c,
            carol,
            ws,
            None,
            &regions::RegionInput {
                name,
                display_order: 9,
                driver,
                webhook_url: url.into(),
                secret: Some("crash-test-signing-secret".into()),
                timeout_ms: 10_000,
                max_attempts: 1,
            },
            releasedesk::domain::PrivateDestinations::Allowed,
        )
        .unwrap()
        .id
    };
    let hook = region(c, format!("{tag}-hook"), Driver::Webhook, hook_url);
    let inv = region(c, format!("{tag}-inv"), Driver::Inventory, "");
    let comps: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            regions::save_component(
                c,
                bob,
                ws,
                None,
                &regions::ComponentInput {
                    name: format!("{tag}-{n}"),
                    artifact: format!("img/{tag}-{n}"),
                    version: "1.0.0".into(),
                    instances: 1,
                    cpu_millis: 100,
                    memory_mib: 128,
                    env: String::new(),
                },
            )
            .unwrap()
            .id
        })
        .collect();
    let step = |region_id| region_release::StepInput {
        kind: StepKind::Deploy,
        region_id: Some(region_id),
        component_ids: comps.clone(),
        people: vec![],
    };
    let task = region_release::create(
        c,
        bob,
        ws,
        &region_release::TaskInput {
            name: format!("{tag} rollout"),
            description: Default::default(),
            operation: Operation::Deploy,
            source_region_id: None,
            best_effort: false,
            steps: vec![step(hook), step(inv)],
        },
    )
    .unwrap()
    .id;
    let exec = region_release::execute(c, bob, ws, task, None).unwrap();
    (WorkspaceId(ws.get()), RegionTaskId(task.get()), exec)
}

fn task_status(c: &mut DbConn, ws: WorkspaceId, task: RegionTaskId) -> String {
    region_release::find(c, ws, task)
        .unwrap()
        .unwrap()
        .status
        .as_str()
        .to_owned()
}

/// Every component of both steps has exactly one result in `exec`, all succeeded; one new
/// inventory entry each; one audit row each and one for the release.
fn assert_each_component_once(c: &mut DbConn, task: i64, exec: i64) {
    let results: Vec<(i64, i64, String)> = execution_results::table
        .filter(execution_results::execution_id.eq(exec))
        .select((
            execution_results::step_id,
            execution_results::component_id,
            execution_results::status,
        ))
        .load(c)
        .unwrap();
    assert_eq!(results.len(), 6, "{results:?}");
    assert!(results.iter().all(|r| r.2 == "succeeded"), "{results:?}");
    let entries: i64 = inventory_entries::table
        .filter(inventory_entries::task_id.eq(task))
        .count()
        .get_result(c)
        .unwrap();
    assert_eq!(entries, 6, "one inventory entry per region and component");
    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("region_task.component_deployed"))
        .filter(audit_log::target_id.eq(task))
        .count()
        .get_result(c)
        .unwrap();
    assert_eq!(audited, 6, "one audit row per deployed component");
    let released: i64 = audit_log::table
        .filter(audit_log::action.eq("region_task.released"))
        .filter(audit_log::target_id.eq(task))
        .count()
        .get_result(c)
        .unwrap();
    assert_eq!(released, 1);
}

/// How many times the receiver saw each delivery id.
fn deliveries(seen: &[(String, String)]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for (d, _) in seen {
        *counts.entry(d.clone()).or_insert(0) += 1;
    }
    counts
}

async fn a_killed_region_step_resumes_without_redeploying_finished_components(app: TestApp) {
    let Some(app) = app_without_worker(app).await else {
        return;
    };
    let url = app.database_url.clone();
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        let c = &mut *pool.get().unwrap();
        let receiver = SlowReceiver::start(Duration::from_millis(600));
        let (ws, task, exec) = executed_region_task(c, &receiver.url, "kill");

        let server = Server::start(&url);
        // The second component's call is in flight (held by the receiver): kill now.
        wait_for("the second webhook call", Some(&server), || {
            (receiver.seen().len() >= 2).then_some(())
        });
        server.kill();
        let recorded: i64 = execution_results::table
            .filter(execution_results::execution_id.eq(exec))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(recorded, 1, "only the first component had finished");
        assert_eq!(task_status(c, ws, task), "releasing");

        let server = Server::start(&url);
        wait_for("the release to finish", Some(&server), || {
            (task_status(c, ws, task) != "releasing").then_some(())
        });
        assert_eq!(task_status(c, ws, task), "released", "{}", server.output());
        assert_each_component_once(c, task.get(), exec);

        // The webhook region saw each change under one delivery id: the finished first
        // component never again, the one in flight at the kill once more (at least once).
        let seen = receiver.seen();
        let counts = deliveries(&seen);
        assert_eq!(counts.len(), 3, "{seen:?}");
        assert_eq!(counts[&seen[0].0], 1, "finished before the kill: {seen:?}");
        assert_eq!(counts[&seen[1].0], 2, "in flight at the kill: {seen:?}");
        assert_eq!(seen.len(), 4, "{seen:?}");
    })
    .await
    .unwrap();
}

async fn sigterm_finishes_the_component_in_flight_and_hands_the_job_back(app: TestApp) {
    let Some(app) = app_without_worker(app).await else {
        return;
    };
    let url = app.database_url.clone();
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        let c = &mut *pool.get().unwrap();
        let receiver = SlowReceiver::start(Duration::from_millis(600));
        let (ws, task, exec) = executed_region_task(c, &receiver.url, "term");

        let server = Server::start(&url);
        wait_for("the first webhook call", Some(&server), || {
            (!receiver.seen().is_empty()).then_some(())
        });
        let (status, output) = server.terminate();
        assert!(status.success(), "exit {status}:\n{output}");
        // The call in flight was answered and recorded; nothing after it started.
        let recorded: i64 = execution_results::table
            .filter(execution_results::execution_id.eq(exec))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(recorded, 1, "{output}");
        assert_eq!(receiver.seen().len(), 1);
        let (job_status, locked_by): (String, Option<String>) = jobs::table
            .filter(jobs::queue.eq(region_release::QUEUE))
            .filter(jobs::payload.eq(exec.to_string()))
            .select((jobs::status, jobs::locked_by))
            .first(c)
            .unwrap();
        assert_eq!(
            (job_status.as_str(), locked_by),
            ("queued", None),
            "handed back"
        );

        // The next start continues at once (no lease to wait for) and never repeats a call.
        let started = Instant::now();
        let server = Server::start(&url);
        wait_for("the release to finish", Some(&server), || {
            (task_status(c, ws, task) != "releasing").then_some(())
        });
        assert_eq!(task_status(c, ws, task), "released", "{}", server.output());
        assert_each_component_once(c, task.get(), exec);
        let seen = receiver.seen();
        assert_eq!(seen.len(), 3, "each call made once: {seen:?}");
        assert_eq!(deliveries(&seen).len(), 3);
        eprintln!("resumed and finished {:?} after restart", started.elapsed());
    })
    .await
    .unwrap();
}

/// Notification email across a crash and two instances: a `serve` child sends the outbox to an
/// SMTP server that is slow to accept; it is killed with a message in flight; two new
/// instances on the same database send the rest. Every delivery reaches the mailbox once.
async fn a_killed_sender_and_two_instances_deliver_each_message_once(app: TestApp) {
    use releasedesk::db::models::notifications::{self, Event, NotificationKind, Subject};
    use releasedesk::db::schema::notifications as outbox;
    let Some(app) = app_without_worker(app).await else {
        return;
    };
    let smtp = Arc::new(support::smtp::SmtpServer::started_slow(
        Duration::from_millis(400),
    ));
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let mailbox = smtp.clone();
    let url = app.database_url.clone();
    let pool = app.pool.clone();
    let total = tokio::task::spawn_blocking(move || {
        let c = &mut *pool.get().unwrap();
        let ws = demo_ws(c);
        let (alice, bob) = (id_of(c, "alice"), id_of(c, "bob"));
        let others: Vec<UserId> = ["tara", "carol", "bob", "victor"]
            .iter()
            .map(|n| id_of(c, n))
            .collect();
        for i in 0..3 {
            let path = releasedesk::domain::ScriptPath::parse(&format!("mail/m_{i}.sql"));
            let draft = scripts::ScriptDraft {
                script_type: releasedesk::domain::ScriptType::Sql,
                schedule: String::new(),
                description: Default::default(),
                content: format!("SELECT {i};\n"),
            };
            let s = scripts::create(c, alice, ws, &path.unwrap(), &draft).unwrap();
            let v = scripts::submit_version(c, alice, ws, s.id, "mail test").unwrap();
            // Asks bob to review: one delivery; then four more about the same package.
            let req = releases::ReleaseRequest {
                task_ids: vec![v.task_id.unwrap()],
                name: format!("mail {i}").parse().unwrap(),
                comment: Default::default(),
                reviewers: vec![bob],
            };
            let package = releases::release(c, alice, ws, &req).unwrap().package_id;
            let event = Event {
                kind: NotificationKind::ReviewRequested,
                workspace_id: ws,
                subject: Subject::Package(package),
                actor: Some(alice),
            };
            notifications::raise(c, event, &others).unwrap();
        }
        let all = notifications::list(c, ws).unwrap();
        assert_eq!(all.len(), 15, "{all:?}");
        let args = [
            "--smtp-url",
            smtp_url.as_str(),
            "--mail-from",
            "releasedesk <releasedesk@localhost>",
        ];

        let server = Server::start_with(&url, &args);
        // Killed while the server holds a message it has not accepted yet: a message in
        // flight for 100 ms (of the server's 400) and not in the mailbox.
        let mut seen: Option<(String, Instant)> = None;
        wait_for("a message in flight", Some(&server), || {
            let in_flight: Option<String> = outbox::table
                .filter(outbox::status.eq("pending"))
                .filter(outbox::lease_until.is_not_null())
                .select(outbox::delivery_id)
                .first(c)
                .optional()
                .unwrap();
            let delivered = mailbox.messages();
            let id = in_flight?;
            if delivered.iter().any(|m| m.message_id.contains(&id)) {
                return None;
            }
            match &seen {
                Some((s, at)) if *s == id => (delivered.len() >= 3
                    && at.elapsed() > Duration::from_millis(100))
                .then_some(()),
                _ => {
                    seen = Some((id, Instant::now()));
                    None
                }
            }
        });
        server.kill();
        let sent_before: i64 = outbox::table
            .filter(outbox::status.eq("sent"))
            .count()
            .get_result(c)
            .unwrap();
        assert!(
            sent_before < 15,
            "the kill came after everything was sent: nothing was tested"
        );

        // Two instances on the same database send the rest, the killed one's message too.
        let (a, b) = (
            Server::start_with(&url, &args),
            Server::start_with(&url, &args),
        );
        wait_for("every delivery sent", Some(&a), || {
            let sent: i64 = outbox::table
                .filter(outbox::status.eq("sent"))
                .count()
                .get_result(c)
                .unwrap();
            (sent == 15).then_some(())
        });
        let (killed, _) = seen.expect("the delivery in flight at the kill");
        let attempts: i32 = outbox::table
            .filter(outbox::delivery_id.eq(&killed))
            .select(outbox::attempts)
            .first(c)
            .unwrap();
        assert_eq!(
            attempts, 2,
            "the killed attempt, then one that was delivered"
        );
        let (sa, oa) = a.terminate();
        let (sb, ob) = b.terminate();
        assert!(sa.success() && sb.success(), "{oa}\n{ob}");
        all.into_iter().map(|d| d.delivery_id).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let got = smtp.messages();
    let mut ids: Vec<String> = got
        .iter()
        .map(|m| {
            m.message_id
                .trim_matches(|c| c == '<' || c == '>')
                .trim_end_matches("@releasedesk")
                .to_owned()
        })
        .collect();
    ids.sort();
    let mut want = total;
    want.sort();
    assert_eq!(ids, want, "each delivery once, none lost");
}

on_both_backends!(
    a_killed_sender_and_two_instances_deliver_each_message_once,
    a_killed_package_release_resumes_and_applies_each_task_once,
    a_killed_region_step_resumes_without_redeploying_finished_components,
    sigterm_finishes_the_component_in_flight_and_hands_the_job_back,
);
