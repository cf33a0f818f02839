//! The package page shows each task's change against production inline, above the decision
//! form, within the page's budgets (`diff::PAGE_BUDGET`, `diff::PAGE_TEXT_BYTES`): what is
//! left out links to the task page. On SQLite and PostgreSQL.

mod support;

use releasedesk::domain::{PackageId, TaskId};
use releasedesk::domain::{UserId, WorkspaceId};
use std::time::Duration;

use releasedesk::db::DbConn;
use releasedesk::db::models::releases::{self, ReleaseRequest};
use releasedesk::db::models::{scripts, users, workspaces};
use releasedesk::diff;
use releasedesk::domain::{ScriptPath, ScriptType};
use releasedesk::paths;
use support::TestApp;

/// (workspace, user) ids of a demo workspace and user.
fn ids(c: &mut DbConn, ws: &str, user: &str) -> (WorkspaceId, UserId) {
    (
        workspaces::find_by_slug(c, ws).unwrap().unwrap().id,
        users::find_by_username(c, user).unwrap().unwrap().id,
    )
}

fn draft(content: &str) -> scripts::ScriptDraft {
    scripts::ScriptDraft {
        script_type: ScriptType::Sql,
        schedule: String::new(),
        description: Default::default(),
        content: content.into(),
    }
}

/// A new script in `ws` with its first version submitted by `user`: (script, task).
fn new_script(c: &mut DbConn, ws: &str, user: &str, path: &str, content: &str) -> (i64, TaskId) {
    let (ws, user) = ids(c, ws, user);
    let path = ScriptPath::parse(path).unwrap();
    let s = scripts::create(c, user, ws, &path, &draft(content)).unwrap();
    let task = scripts::submit_version(c, user, ws, s.id, "first")
        .unwrap()
        .task_id
        .unwrap();
    (s.id, task)
}

/// The next version of a script in `demo`, submitted by alice: its task.
fn new_version(c: &mut DbConn, script: i64, content: &str) -> TaskId {
    let (ws, alice) = ids(c, "demo", "alice");
    scripts::save_draft(c, alice, ws, script, &draft(content)).unwrap();
    scripts::submit_version(c, alice, ws, script, "edited")
        .unwrap()
        .task_id
        .unwrap()
}

/// A package of `tasks` in `ws` by `applicant`, for `reviewer`'s approval (none: released
/// directly): its id.
fn package(
    c: &mut DbConn,
    ws: &str,
    applicant: &str,
    reviewer: Option<&str>,
    tasks: &[TaskId],
) -> i64 {
    let (ws, applicant) = ids(c, ws, applicant);
    let reviewers = reviewer
        .map(|r| users::find_by_username(c, r).unwrap().unwrap().id)
        .into_iter()
        .collect();
    (releases::release(
        c,
        applicant,
        ws,
        &ReleaseRequest {
            task_ids: tasks.to_vec(),
            name: Default::default(),
            comment: Default::default(),
            reviewers,
        },
    )
    .unwrap()
    .package_id)
        .get()
}

/// Carol releases `tasks` of `demo` directly and the worker puts them live.
async fn put_live(app: &TestApp, tasks: Vec<TaskId>) {
    let id = app
        .db(move |c| package(c, "demo", "carol", None, &tasks))
        .await;
    for _ in 0..200 {
        let status = app
            .db(move |c| {
                let ws = ids(c, "demo", "carol").0;
                releases::find_package(c, ws, PackageId(id))
                    .unwrap()
                    .unwrap()
                    .status
            })
            .await;
        if status.as_str() == "released" {
            return;
        }
        assert_eq!(status.as_str(), "releasing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("package {id} still releasing after 20 s");
}

fn lines(range: std::ops::Range<usize>, suffix: &str) -> String {
    range.map(|i| format!("SELECT {i}{suffix};\n")).collect()
}

async fn the_package_page_shows_each_tasks_change_above_the_decision(app: TestApp) {
    let app = app.with_demo().await;
    let (orders, v1) = app
        .db(|c| {
            new_script(
                c,
                "demo",
                "alice",
                "etl/fx_rates.sql",
                "SELECT rate\nFROM raw.fx\nWHERE day = today;\n",
            )
        })
        .await;
    put_live(&app, vec![v1]).await;
    let package = app
        .db(move |c| {
            let v2 = new_version(c, orders, "SELECT rate\nFROM mart.fx\nWHERE day = today;\n");
            let (_, fresh) = new_script(
                c,
                "demo",
                "alice",
                "etl/fx_daily.sql",
                "INSERT INTO mart.fx\nSELECT * FROM raw.fx;\n",
            );
            package(c, "demo", "alice", Some("carol"), &[v2, fresh])
        })
        .await;
    let url = paths::package("demo", PackageId(package));

    let carol = app.signed_in("carol").await;
    let page = carol.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // In the package's order (by name).
    assert_eq!(
        page.texts("#changes details summary .change-name"),
        ["etl/fx_daily.sql", "etl/fx_rates.sql"]
    );
    let summaries = page.texts("#changes details summary");
    assert!(
        summaries[0].contains("not in production → v1"),
        "{summaries:?}"
    );
    assert!(summaries[0].contains("+2 −0"), "{summaries:?}");
    assert!(summaries[1].contains("production v1 → v2"), "{summaries:?}");
    assert!(summaries[1].contains("+1 −1"), "{summaries:?}");
    // The edited line, removed and added, with the changed word highlighted.
    let first = "#changes details:nth-of-type(2)";
    assert_eq!(
        page.texts(&format!("{first} tr.del .diff-code")),
        ["FROM raw.fx"]
    );
    assert_eq!(
        page.texts(&format!("{first} tr.add .diff-code")),
        ["FROM mart.fx"]
    );
    assert_eq!(page.texts(&format!("{first} tr.del mark")), ["raw.fx"]);
    assert_eq!(page.texts(&format!("{first} tr.add mark")), ["mart.fx"]);
    // The new script: every line added.
    assert_eq!(
        page.texts("#changes details:nth-of-type(1) tr.add .diff-code"),
        ["INSERT INTO mart.fx", "SELECT * FROM raw.fx;"]
    );
    assert!(
        page.has("#changes details[open]"),
        "the first diffs are open"
    );
    // Right above Approve/Reject.
    let (changes, decision) = (
        page.body.find("id=\"changes\"").unwrap(),
        page.body.find("id=\"decision-form\"").unwrap(),
    );
    assert!(changes < decision);
    let between = &page.body[changes..decision];
    assert!(
        !between.contains("id=\"reviewers\"") && !between.contains("id=\"timeline\""),
        "nothing between the changes and the decision"
    );
    assert!(!page.has(".diff-show-all"), "nothing left out");

    // The applicant sees the same changes, without the form.
    let alice = app.signed_in("alice").await;
    let own = alice.get(&url).await;
    assert_eq!(own.texts("#changes details").len(), 2);
    assert!(!own.has("#decision-form"));
}

async fn a_huge_change_is_capped_with_a_show_all_link(app: TestApp) {
    let app = app.with_demo().await;
    // Six scripts of 3,000 new lines: each diff stops at a script's budget (2,000 rows), and
    // the page's 10,000 rows are spent after five of them.
    let (tasks, small) = app
        .db(|c| {
            let tasks: Vec<TaskId> = (0..6)
                .map(|i| {
                    new_script(
                        c,
                        "demo",
                        "alice",
                        &format!("etl/huge_{i}.sql"),
                        &lines(0..3000, ""),
                    )
                    .1
                })
                .collect();
            let (_, small) = new_script(c, "demo", "alice", "etl/small.sql", "SELECT 1;\n");
            (tasks, small)
        })
        .await;
    let all: Vec<TaskId> = tasks.iter().copied().chain([small]).collect();
    let package = app
        .db(move |c| package(c, "demo", "alice", Some("carol"), &all))
        .await;
    let carol = app.signed_in("carol").await;
    let page = carol.get(&paths::package("demo", PackageId(package))).await;
    assert_eq!(page.status, 200);
    let details = page.texts("#changes details");
    assert_eq!(details.len(), 7);
    assert_eq!(
        page.texts("#changes tr.add").len(),
        diff::PAGE_BUDGET.rows,
        "the page shows its budget of lines, no more"
    );
    let link = |task: TaskId| paths::task("demo", task);
    let show_all: Vec<String> = {
        let html = page.html();
        let sel = scraper::Selector::parse("#changes a.diff-show-all").unwrap();
        html.select(&sel)
            .map(|a| a.value().attr("href").unwrap().to_owned())
            .collect()
    };
    // Every huge one links to its task page; the small one, left out, too.
    assert_eq!(
        show_all,
        tasks
            .iter()
            .copied()
            .chain([small])
            .map(link)
            .collect::<Vec<_>>()
    );
    assert!(
        details[0].contains("1000 more lines not shown"),
        "{}",
        details[0]
    );
    assert!(details[5].contains("Not shown here"), "{}", details[5]);
    assert!(details[6].contains("Not shown here"), "{}", details[6]);
    // The task page and the download carry the whole change.
    let task_page = carol.get(&link(tasks[5])).await;
    assert_eq!(task_page.status, 200);
    let full = carol
        .get(&format!("{}/diff?against=production", link(tasks[5])))
        .await;
    assert_eq!(
        full.body
            .lines()
            .filter(|l| l.starts_with("+SELECT"))
            .count(),
        3000
    );
}

async fn scripts_too_large_to_read_together_are_linked(app: TestApp) {
    let app = app.with_demo().await;
    // Three live scripts of about 1 MiB with a one-line edit each: both texts of two of them
    // fill what a page reads (diff::PAGE_TEXT_BYTES), so the third is not read.
    let big = |edit: &str| {
        let mut text = lines(0..60_000, " -- padding to make a large script");
        text.truncate(1000 * 1000);
        text.push_str(&format!("SELECT '{edit}';\n"));
        text
    };
    let (scripts_ids, first): (Vec<i64>, Vec<TaskId>) = app
        .db(move |c| {
            (0..3)
                .map(|i| new_script(c, "demo", "alice", &format!("etl/big_{i}.sql"), &big("old")))
                .unzip()
        })
        .await;
    put_live(&app, first).await;
    let package = app
        .db(move |c| {
            let tasks: Vec<TaskId> = scripts_ids
                .iter()
                .map(|s| new_version(c, *s, &big("new")))
                .collect();
            package(c, "demo", "alice", Some("carol"), &tasks)
        })
        .await;
    let carol = app.signed_in("carol").await;
    let page = carol.get(&paths::package("demo", PackageId(package))).await;
    assert_eq!(page.status, 200);
    let details = page.texts("#changes details");
    assert_eq!(details.len(), 3);
    assert!(details[0].contains("+1 −1") && details[1].contains("+1 −1"));
    assert_eq!(page.texts("#changes tr.add mark"), ["'new';", "'new';"]);
    assert!(
        details[2].contains("too large to diff on one page") && details[2].contains("Show all"),
        "{}",
        details[2]
    );
}

async fn a_member_of_another_workspace_gets_404(app: TestApp) {
    let app = app.with_demo().await;
    // Victor views `demo` only; the package is in `payments`.
    let package = app
        .db(|c| {
            let (_, task) = new_script(c, "payments", "alice", "etl/ledger.sql", "SELECT 1;\n");
            package(c, "payments", "alice", Some("bob"), &[task])
        })
        .await;
    let url = paths::package("payments", PackageId(package));
    let bob = app.signed_in("bob").await;
    assert!(bob.get(&url).await.has("#changes details"));
    let victor = app.signed_in("victor").await;
    let refused = victor.get(&url).await;
    assert_eq!(refused.status, 404);
    assert!(!refused.body.contains("etl/ledger.sql"));
    // Nor through a workspace he belongs to.
    let other = victor
        .get(&paths::package("demo", PackageId(package)))
        .await;
    assert_eq!(other.status, 404);
}

on_both_backends!(
    the_package_page_shows_each_tasks_change_above_the_decision,
    a_huge_change_is_capped_with_a_show_all_link,
    scripts_too_large_to_read_together_are_linked,
    a_member_of_another_workspace_gets_404,
);
