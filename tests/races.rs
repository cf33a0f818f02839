//! Races through HTTP: for each contested transition, 100 pairs of requests that arrive
//! together (ten pairs at a time, so pairs also contend with each other), with several pooled
//! connections and HTTP workers. Each pair must give exactly one transition, the other request
//! a 4xx that says why, and exactly one audit row per transition. The state each pair races on
//! is set up through the data layer (the same functions the handlers call); the worker is off,
//! so nothing moves the state but the racing requests.

mod support;

use diesel::prelude::*;
use futures_util::future::join_all;
use releasedesk::db::DbConn;
use releasedesk::db::models::{region_release, releases, scripts, users, workspaces};
use releasedesk::db::schema::{
    audit_log, components, jobs, package_tasks, region_executions, regions, release_packages,
    release_tasks, step_comments,
};
use releasedesk::domain::PackageId;
use releasedesk::domain::RegionTaskId;
use releasedesk::domain::StepId;
use releasedesk::domain::{Operation, ScriptPath, ScriptType, StepKind};
use releasedesk::domain::{TaskId, UserId, WorkspaceId};
use releasedesk::paths;
use support::{Backend, Client, Resp, TestApp};

const PAIRS: usize = 100;
/// Pairs in flight at once.
const AT_ONCE: usize = 10;

async fn app(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |s| {
        s.pool_size = Some(8);
        s.workers = Some(2);
        s.run_worker = false;
    })
    .await?;
    Some(app.with_demo().await)
}

/// A signed-in client and its CSRF token (fetched once: it lasts as long as the session).
struct Signed {
    client: Client,
    token: String,
}

impl Signed {
    async fn new(app: &TestApp, username: &str) -> Signed {
        let client = app.signed_in(username).await;
        let token = client.csrf().await;
        Signed { client, token }
    }
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut form = fields.to_vec();
        form.push(("csrf_token", &self.token));
        self.client.post_raw(path, &form, &[]).await
    }
}

fn id(c: &mut DbConn, username: &str) -> UserId {
    users::find_by_username(c, username).unwrap().unwrap().id
}

fn demo(c: &mut DbConn) -> WorkspaceId {
    workspaces::find_by_slug(c, "demo").unwrap().unwrap().id
}

/// `n` pending release tasks of alice's, one script each.
fn tasks(c: &mut DbConn, prefix: &str, n: usize) -> Vec<TaskId> {
    let (ws, alice) = (demo(c), id(c, "alice"));
    (0..n)
        .map(|i| {
            let draft = scripts::ScriptDraft {
                script_type: ScriptType::Sql,
                schedule: String::new(),
                description: Default::default(),
                content: format!("SELECT {i};\n"),
            };
            let path = ScriptPath::parse(&format!("race/{prefix}_{i}.sql")).unwrap();
            let s = scripts::create(c, alice, ws, &path, &draft).unwrap();
            scripts::submit_version(c, alice, ws, s.id, "v1")
                .unwrap()
                .task_id
                .unwrap()
        })
        .collect()
}

/// `n` packages of alice's waiting for carol's or bob's approval.
fn packages(c: &mut DbConn, prefix: &str, n: usize) -> Vec<PackageId> {
    let (ws, alice) = (demo(c), id(c, "alice"));
    let reviewers = vec![id(c, "carol"), id(c, "bob")];
    tasks(c, prefix, n)
        .into_iter()
        .map(|task| {
            releases::release(
                c,
                alice,
                ws,
                &releases::ReleaseRequest {
                    task_ids: vec![task],
                    name: Default::default(),
                    comment: Default::default(),
                    reviewers: reviewers.clone(),
                },
            )
            .unwrap()
            .package_id
        })
        .collect()
}

/// `n` region tasks of bob's: a Manual Approval naming carol and tara, then a deploy step.
/// With `run`, bob executes each and the worker takes it to the checkpoint.
fn region_tasks(c: &mut DbConn, prefix: &str, n: usize, run: bool) -> Vec<(RegionTaskId, StepId)> {
    let (ws, bob) = (demo(c), id(c, "bob"));
    let people = vec![id(c, "carol"), id(c, "tara")];
    let region: i64 = regions::table
        .filter(regions::workspace_id.eq(ws))
        .filter(regions::driver.eq("inventory"))
        .select(regions::id)
        .first(c)
        .unwrap();
    let component: i64 = components::table
        .filter(components::workspace_id.eq(ws))
        .select(components::id)
        .first(c)
        .unwrap();
    let out: Vec<(RegionTaskId, StepId)> = (0..n)
        .map(|i| {
            let task = region_release::create(
                c,
                bob,
                ws,
                &region_release::TaskInput {
                    name: format!("{prefix} {i}"),
                    description: Default::default(),
                    operation: Operation::Deploy,
                    source_region_id: None,
                    best_effort: false,
                    steps: vec![
                        region_release::StepInput {
                            kind: StepKind::Approval,
                            region_id: None,
                            component_ids: vec![],
                            people: people.clone(),
                        },
                        region_release::StepInput {
                            kind: StepKind::Deploy,
                            region_id: Some(region),
                            component_ids: vec![component],
                            people: vec![],
                        },
                    ],
                },
            )
            .unwrap()
            .id;
            if run {
                region_release::execute(c, bob, ws, task, None).unwrap();
            }
            let step = region_release::steps(c, task).unwrap()[0].id;
            (task, step)
        })
        .collect();
    if run {
        releasedesk::worker::drain(c).unwrap();
        for (task, _) in &out {
            let steps = region_release::steps(c, *task).unwrap();
            assert_eq!(
                steps[0].status.as_str(),
                "waiting",
                "task {task} at its checkpoint"
            );
        }
    }
    out
}

fn audit_count(c: &mut DbConn, action: &str, target: i64) -> i64 {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::target_id.eq(target))
        .count()
        .get_result(c)
        .unwrap()
}

/// The message a refused request shows: its toast, or the alert above the Tasks table.
fn refusal(resp: &Resp) -> String {
    [".toast-error", "#release-alert"]
        .iter()
        .flat_map(|s| resp.texts(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks one pair's answers: one success (303), one refusal (409 or 422) with a message.
/// Returns which of the two won (0 or 1).
fn one_winner(what: &str, i: usize, a: &Resp, b: &Resp) -> usize {
    let ok = [a.status == 303, b.status == 303];
    assert!(
        ok[0] ^ ok[1],
        "{what} #{i}: exactly one succeeds, got {} and {}",
        a.status,
        b.status
    );
    let loser = if ok[0] { b } else { a };
    assert!(
        loser.status == 409 || loser.status == 422,
        "{what} #{i}: the loser gets 409/422, got {}",
        loser.status
    );
    assert!(
        !refusal(loser).trim().is_empty(),
        "{what} #{i}: the loser is told why: {}",
        loser.body
    );
    if ok[0] { 0 } else { 1 }
}

/// Runs `race(i)` for every pair, `AT_ONCE` pairs at a time.
async fn in_batches<F, Fut>(race: F) -> Vec<(Resp, Resp)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = (Resp, Resp)>,
{
    let mut out = Vec::with_capacity(PAIRS);
    for start in (0..PAIRS).step_by(AT_ONCE) {
        out.extend(join_all((start..(start + AT_ONCE).min(PAIRS)).map(&race)).await);
    }
    out
}

async fn races(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let started = std::time::Instant::now();
    let (alice, bob, carol, tara) = (
        Signed::new(&app, "alice").await,
        Signed::new(&app, "bob").await,
        Signed::new(&app, "carol").await,
        Signed::new(&app, "tara").await,
    );
    let pkg = |p: i64| paths::package_decision("demo", PackageId(p));
    let rt = |t: i64, what: &str| format!("/workspaces/demo/region-release/tasks/{t}/{what}");
    let mut counts = Vec::new();

    // 1. approve / approve: two named reviewers, quorum "any".
    let ids = app.db(|c| packages(c, "aa", PAIRS)).await;
    let answers = in_batches(|i| {
        let path = pkg((ids[i]).get());
        let (carol, bob) = (&carol, &bob);
        async move {
            tokio::join!(
                carol.post(&path, &[("decision", "approve")]),
                bob.post(&path, &[("decision", "approve")]),
            )
        }
    })
    .await;
    for (i, (a, b)) in answers.iter().enumerate() {
        one_winner("approve/approve", i, a, b);
    }
    let ids2 = ids.clone();
    app.db(move |c| {
        for p in ids2 {
            assert_eq!(
                audit_count(c, "package.approved", p.get()),
                1,
                "package {p}"
            );
            let queued: i64 = jobs::table
                .filter(jobs::queue.eq(releasedesk::db::models::jobs::RELEASE_PACKAGE))
                .filter(jobs::payload.eq(p.to_string()))
                .count()
                .get_result(c)
                .unwrap();
            assert_eq!(queued, 1, "package {p}: one release job");
        }
    })
    .await;
    counts.push(("approve/approve", answers.len()));

    // 2. approve / reject.
    let ids = app.db(|c| packages(c, "ar", PAIRS)).await;
    let answers = in_batches(|i| {
        let path = pkg((ids[i]).get());
        let (carol, bob) = (&carol, &bob);
        async move {
            tokio::join!(
                carol.post(&path, &[("decision", "approve")]),
                bob.post(&path, &[("decision", "reject"), ("comment", "not today")]),
            )
        }
    })
    .await;
    let winners: Vec<usize> = answers
        .iter()
        .enumerate()
        .map(|(i, (a, b))| one_winner("approve/reject", i, a, b))
        .collect();
    let ids2 = ids.clone();
    app.db(move |c| {
        for (p, w) in ids2.into_iter().zip(winners) {
            let status: String = release_packages::table
                .find(p)
                .select(release_packages::status)
                .first(c)
                .unwrap();
            let (approved, rejected) = (
                audit_count(c, "package.approved", p.get()),
                audit_count(c, "package.rejected", p.get()),
            );
            if w == 0 {
                assert_eq!((status.as_str(), approved, rejected), ("releasing", 1, 0));
            } else {
                assert_eq!((status.as_str(), approved, rejected), ("rejected", 0, 1));
            }
        }
    })
    .await;
    counts.push(("approve/reject", answers.len()));

    // 3. release (bob, a deployer: directly) / revoke (alice, her own task).
    let ids = app.db(|c| tasks(c, "rr", PAIRS)).await;
    let answers = in_batches(|i| {
        let t = ids[i].to_string();
        let (bob, alice) = (&bob, &alice);
        async move {
            let (release, revoke) = ([("task_ids", t.as_str())], [("task_ids", t.as_str())]);
            let (release_url, revoke_url) = (paths::release("demo"), paths::revoke("demo"));
            tokio::join!(
                bob.post(&release_url, &release),
                alice.post(&revoke_url, &revoke),
            )
        }
    })
    .await;
    let winners: Vec<usize> = answers
        .iter()
        .enumerate()
        .map(|(i, (a, b))| one_winner("release/revoke", i, a, b))
        .collect();
    let ids2 = ids.clone();
    app.db(move |c| {
        for (t, w) in ids2.into_iter().zip(winners) {
            let status: String = release_tasks::table
                .find(t)
                .select(release_tasks::status)
                .first(c)
                .unwrap();
            let packaged: i64 = package_tasks::table
                .filter(package_tasks::task_id.eq(t))
                .count()
                .get_result(c)
                .unwrap();
            let revoked = audit_count(c, "task.revoked", t.get());
            if w == 0 {
                assert_eq!((status.as_str(), packaged, revoked), ("releasing", 1, 0));
            } else {
                assert_eq!((status.as_str(), packaged, revoked), ("revoked", 0, 1));
            }
        }
    })
    .await;
    counts.push(("release/revoke", answers.len()));

    // 4. execute / execute of a region task that has not run.
    let ids = app.db(|c| region_tasks(c, "ee", PAIRS, false)).await;
    let answers = in_batches(|i| {
        let path = rt((ids[i].0).get(), "execute");
        let (bob, carol) = (&bob, &carol);
        async move { tokio::join!(bob.post(&path, &[]), carol.post(&path, &[])) }
    })
    .await;
    for (i, (a, b)) in answers.iter().enumerate() {
        one_winner("execute/execute", i, a, b);
    }
    let ids2 = ids.clone();
    app.db(move |c| {
        for (t, _) in ids2 {
            let executions: i64 = region_executions::table
                .filter(region_executions::task_id.eq(t))
                .count()
                .get_result(c)
                .unwrap();
            assert_eq!(executions, 1, "task {t}: one execution");
            assert_eq!(
                audit_count(c, "region_task.executed", t.get()),
                1,
                "task {t}"
            );
        }
    })
    .await;
    counts.push(("execute/execute", answers.len()));

    // 5. checkpoint agree (carol) / reject (tara), both named; bob executed.
    let ids = app.db(|c| region_tasks(c, "cp", PAIRS, true)).await;
    let answers = in_batches(|i| {
        let (t, step) = ids[i];
        let path = rt(t.get(), &format!("steps/{step}/decision"));
        let (carol, tara) = (&carol, &tara);
        async move {
            tokio::join!(
                carol.post(&path, &[("decision", "agree"), ("comment", "")]),
                tara.post(&path, &[("decision", "reject"), ("comment", "stop")]),
            )
        }
    })
    .await;
    let winners: Vec<usize> = answers
        .iter()
        .enumerate()
        .map(|(i, (a, b))| one_winner("agree/reject", i, a, b))
        .collect();
    let ids2 = ids.clone();
    app.db(move |c| {
        for ((t, step), w) in ids2.into_iter().zip(winners) {
            let decisions: i64 = step_comments::table
                .filter(step_comments::step_id.eq(step))
                .filter(step_comments::decision.is_not_null())
                .count()
                .get_result(c)
                .unwrap();
            let (agreed, rejected) = (
                audit_count(c, "region_task.checkpoint_agreed", t.get()),
                audit_count(c, "region_task.checkpoint_rejected", t.get()),
            );
            let want = if w == 0 { (1, 1, 0) } else { (1, 0, 1) };
            assert_eq!((decisions, agreed, rejected), want, "task {t}");
        }
    })
    .await;
    counts.push(("agree/reject", answers.len()));

    // 6. suspend (bob) / execute (carol) of a release waiting at its checkpoint. Execute is
    // refused while the task runs, so it wins only after the suspension: then both are
    // transitions (suspended, then resumed). Never two running executions.
    let ids = app.db(|c| region_tasks(c, "se", PAIRS, true)).await;
    let answers = in_batches(|i| {
        let t = ids[i].0;
        let (bob, carol) = (&bob, &carol);
        async move {
            let (suspend, execute) = (rt(t.get(), "suspend"), rt(t.get(), "execute"));
            tokio::join!(bob.post(&suspend, &[]), carol.post(&execute, &[]))
        }
    })
    .await;
    let mut resumed = 0;
    for (i, (s, e)) in answers.iter().enumerate() {
        assert_eq!(s.status, 303, "suspend #{i} always wins: {}", s.body);
        match e.status {
            303 => resumed += 1,
            409 => assert!(!refusal(e).is_empty(), "execute #{i} is told why"),
            other => panic!("execute #{i}: {other}"),
        }
    }
    let outcomes: Vec<bool> = answers.iter().map(|(_, e)| e.status == 303).collect();
    let ids2 = ids.clone();
    app.db(move |c| {
        for ((t, _), resumed) in ids2.into_iter().zip(outcomes) {
            let running: i64 = region_executions::table
                .filter(region_executions::task_id.eq(t))
                .filter(region_executions::status.eq("running"))
                .count()
                .get_result(c)
                .unwrap();
            let ws = demo(c);
            let status = region_release::find(c, ws, RegionTaskId(t.get()))
                .unwrap()
                .unwrap()
                .status;
            let (suspended, executed) = (
                audit_count(c, "region_task.suspended", t.get()),
                audit_count(c, "region_task.executed", t.get()),
            );
            if resumed {
                assert_eq!(
                    (status.as_str(), running, suspended, executed),
                    ("releasing", 1, 1, 2)
                );
            } else {
                assert_eq!(
                    (status.as_str(), running, suspended, executed),
                    ("suspended", 0, 1, 1)
                );
            }
        }
    })
    .await;
    counts.push(("suspend/execute", answers.len()));
    eprintln!(
        "races on {backend:?}: {counts:?} pairs ({resumed} executes resumed after the suspension), {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contested_transitions_on_sqlite() {
    races(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contested_transitions_on_postgres() {
    races(Backend::Postgres).await;
}
