//! Memory per request: downloads stream a page at a time and diffs render within a budget.
//!
//! The fast tests below run on both backends and check the behaviour: the scripts export and
//! the audit CSV are streamed in several pages with exactly the bytes of the whole-body format,
//! a download cut by a database error ends without its closing bytes, and Compare Version, a
//! task's diffs and the editor's comparison stop at their budget with a notice and a link to
//! the full diff, which downloads whole.
//!
//! `memory_soak` (ignored: minutes of seeding and requests) starts the real binary on big data,
//! runs several of these requests at once and reads the server's RssAnon from
//! `/proc/PID/status`; `bench/memory-soak.sh` runs it on the release build and
//! docs/RELIABILITY.md ("Memory per request") has its figures.

mod support;

use releasedesk::domain::TaskId;
use releasedesk::domain::{UserId, WorkspaceId};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use releasedesk::db::DbConn;
use releasedesk::db::batch::{BatchInsert, Value};
use releasedesk::db::models::bundle::{self, Bundle, Export};
use releasedesk::db::models::{audit, releases, scripts, users, workspaces};
use releasedesk::db::schema::{script_versions, scripts as scripts_t};
use releasedesk::diff;
use releasedesk::domain::{ScriptPath, ScriptType};
use releasedesk::paths;
use support::TestApp;

fn demo_ws(c: &mut DbConn) -> WorkspaceId {
    workspaces::find_by_slug(c, "demo").unwrap().unwrap().id
}

fn id_of(c: &mut DbConn, name: &str) -> UserId {
    users::find_by_username(c, name).unwrap().unwrap().id
}

/// Writes `n` scripts `{prefix}/s_{i}.sql` with one version each straight into the tables
/// (multi-row inserts: the rule-holding functions would take minutes for tens of thousands);
/// every third is live. `content(i)` is script `i`'s content.
fn seed_scripts(
    c: &mut DbConn,
    ws: i64,
    prefix: &str,
    n: usize,
    content: impl Fn(usize) -> String,
) {
    let owner = id_of(c, "alice");
    let at = releasedesk::db::now();
    let path = |i: usize| format!("{prefix}/s_{i:06}.sql");
    let mut rows = BatchInsert::new(
        "scripts",
        &[
            "workspace_id",
            "path",
            "script_type",
            "draft_content",
            "schedule",
            "description",
            "owner_id",
            "latest_version",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    for i in 0..n {
        rows.push(
            c,
            vec![
                ws.into(),
                path(i).into(),
                "sql".into(),
                "".into(),
                if i.is_multiple_of(2) { "0 4 * * *" } else { "" }.into(),
                format!("Script {i}: \"quoted\", é").into(),
                Some(owner).into(),
                1i32.into(),
                Some(owner).into(),
                at.into(),
                at.into(),
            ],
        )
        .unwrap();
    }
    rows.flush(c).unwrap();
    let ids: Vec<(i64, String)> = scripts_t::table
        .filter(scripts_t::workspace_id.eq(ws))
        .filter(scripts_t::path.like(format!("{prefix}/%")))
        .select((scripts_t::id, scripts_t::path))
        .order(scripts_t::path)
        .load(c)
        .unwrap();
    let mut versions = BatchInsert::new(
        "script_versions",
        &[
            "script_id",
            "number",
            "content",
            "message",
            "script_type",
            "schedule",
            "submitted_by",
            "submitted_at",
        ],
    );
    for (i, (id, _)) in ids.iter().enumerate() {
        versions
            .push(
                c,
                vec![
                    (*id).into(),
                    1i32.into(),
                    content(i).into(),
                    format!("seeded {i}").into(),
                    "sql".into(),
                    if i.is_multiple_of(2) { "0 4 * * *" } else { "" }.into(),
                    Some(owner).into(),
                    at.into(),
                ],
            )
            .unwrap();
    }
    versions.flush(c).unwrap();
    let live: Vec<(i64, i64, String)> = script_versions::table
        .inner_join(scripts_t::table)
        .filter(scripts_t::workspace_id.eq(ws))
        .filter(scripts_t::path.like(format!("{prefix}/%")))
        .select((
            script_versions::script_id,
            script_versions::id,
            scripts_t::path,
        ))
        .order(scripts_t::path)
        .load(c)
        .unwrap();
    let mut prod = BatchInsert::new(
        "production_scripts",
        &[
            "script_id",
            "workspace_id",
            "version_id",
            "version_number",
            "content",
            "script_type",
            "schedule",
            "package_id",
            "released_by",
            "released_at",
            "startup_status",
            "startup_message",
            "path",
        ],
    );
    for (i, (script_id, version_id, path)) in live.into_iter().enumerate() {
        if !i.is_multiple_of(3) {
            continue;
        }
        prod.push(
            c,
            vec![
                script_id.into(),
                ws.into(),
                version_id.into(),
                1i32.into(),
                content(i).into(),
                "sql".into(),
                "".into(),
                Value::OptBigInt(None),
                Some(owner).into(),
                at.into(),
                "not_started".into(),
                "".into(),
                path.into(),
            ],
        )
        .unwrap();
    }
    prod.flush(c).unwrap();
}

/// A small script with text that JSON must escape.
fn tricky(i: usize) -> String {
    format!("-- script {i}\nSELECT '{i}', \"x\\y\"\tFROM t; -- é ✓\r\n\u{1}")
}

/// `n` lines of `width` bytes, numbered, with `tag` in each (so two tags differ on every line),
/// padded with pseudo-random letters so that compression does not hide their size.
fn lines(n: usize, width: usize, tag: &str) -> String {
    let mut s = String::with_capacity(n * (width + 1));
    let mut x: u64 = tag.bytes().fold(0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    for i in 0..n {
        let line = format!("SELECT {i} AS line, '{tag}' AS tag -- ");
        s.push_str(&line);
        for _ in line.len()..width {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(char::from(b'a' + (x % 26) as u8));
        }
        s.push('\n');
    }
    s
}

/// Every page of a workspace's export, read through the data layer.
fn export_pages(c: &mut DbConn, ws: i64) -> Vec<Vec<u8>> {
    let mut export = Export::new(WorkspaceId(ws));
    let mut pages = Vec::new();
    while let Some(page) = export.next_page(c).unwrap() {
        pages.push(page);
    }
    pages
}

async fn an_export_streams_every_script_in_pages_in_the_bundle_format(app: TestApp) {
    let app = app.with_demo().await;
    let ws = app
        .db(|c| {
            let ws = demo_ws(c);
            seed_scripts(c, ws.get(), "bulk", 1_234, tricky);
            ws
        })
        .await;
    let victor = app.signed_in("victor").await;
    let resp = victor
        .http
        .get(format!("{}/workspaces/demo/scripts/export", victor.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert!(
        resp.headers().get("content-length").is_none(),
        "streamed, so no length is known up front"
    );
    assert_eq!(resp.headers()["transfer-encoding"], "chunked");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"demo-scripts.json\""
    );
    let body = resp.text().await.unwrap();

    // Exactly the bytes the whole bundle pretty-printed at once has (the format before).
    let bundle: Bundle = serde_json::from_str(&body).unwrap();
    assert_eq!(serde_json::to_string_pretty(&bundle).unwrap(), body);
    assert_eq!(bundle.format, bundle::FORMAT);
    let bulk: Vec<_> = bundle
        .scripts
        .iter()
        .filter(|s| s.path.starts_with("bulk/"))
        .collect();
    assert_eq!(bulk.len(), 1_234);
    let paths: Vec<&str> = bundle.scripts.iter().map(|s| s.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "by path, as before");
    for (i, s) in bulk.iter().enumerate() {
        assert_eq!(s.content, tricky(i));
        assert_eq!(s.message, format!("seeded {i}"));
        assert_eq!(s.description, format!("Script {i}: \"quoted\", é"));
        let state = if i.is_multiple_of(3) {
            "released"
        } else {
            "submitted"
        };
        assert_eq!(s.state, state, "{}", s.path);
    }
    // The demo's own scripts are there too, each with its latest version.
    let versioned: i64 = app
        .db(move |c| {
            scripts_t::table
                .filter(scripts_t::workspace_id.eq(ws))
                .filter(scripts_t::latest_version.gt(0))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(bundle.scripts.len() as i64, versioned);

    // Made page by page: the header with 500 scripts, two more pages, and the closing bytes.
    let pages = app.db(move |c| export_pages(c, ws.get())).await;
    assert!(pages.len() >= 4, "{} pages", pages.len());
    assert!(pages[0].starts_with(b"{\n  \"format\""));
    assert_eq!(pages.last().unwrap().as_slice(), b"\n  ]\n}");
    assert_eq!(pages.concat(), body.as_bytes());
}

async fn an_export_page_holds_at_most_its_byte_budget(app: TestApp) {
    let app = app.with_demo().await;
    let ws = app
        .db(|c| {
            let ws = demo_ws(c);
            seed_scripts(c, ws.get(), "big", 5, |i| {
                lines(4_000, 99, &format!("v{i}"))
            });
            ws
        })
        .await;
    // 400,000-byte scripts against a 1 MiB page: two to a page.
    let pages = app.db(move |c| export_pages(c, ws.get())).await;
    let big_pages: Vec<usize> = pages
        .iter()
        .map(|p| p.windows(9).filter(|w| w == b"\"big/s_00").count())
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(big_pages, [2, 2, 1], "big scripts per page");
    assert!(
        pages
            .iter()
            .all(|p| p.len() < 2 * bundle::EXPORT_PAGE_BYTES as usize)
    );
    let victor = app.signed_in("victor").await;
    let body = victor.get(&paths::scripts_export("demo")).await.body;
    assert_eq!(pages.concat(), body.as_bytes());
    let bundle: Bundle = serde_json::from_str(&body).unwrap();
    assert_eq!(serde_json::to_string_pretty(&bundle).unwrap(), body);
}

async fn a_download_cut_by_a_database_error_ends_without_its_closing_bytes(app: TestApp) {
    let app = app.with_demo().await;
    // 60 MiB of export: far more than the socket buffers hold, so the server is still
    // reading pages when the table goes away.
    app.db(|c| {
        let ws = demo_ws(c);
        seed_scripts(c, ws.get(), "cut", 60, |i| {
            lines(10_000, 104, &format!("v{i}"))
        });
    })
    .await;
    let victor = app.signed_in("victor").await;
    let mut resp = victor
        .http
        .get(format!("{}/workspaces/demo/scripts/export", victor.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut received = 0usize;
    while received < 1_000_000 {
        received += resp.chunk().await.unwrap().expect("more body").len();
    }
    app.db(|c| {
        diesel::sql_query("ALTER TABLE script_versions RENAME TO script_versions_gone")
            .execute(c)
            .unwrap()
    })
    .await;
    let mut tail = Vec::new();
    let ended = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len();
                tail = chunk.to_vec();
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    assert!(
        ended.is_err(),
        "the body ended as if complete after {received} bytes"
    );
    assert!(
        received < 60 << 20,
        "{received} bytes: not the whole export"
    );
    assert!(!tail.ends_with(b"]\n}"));

    // The server goes on serving, and once the table is back the export is whole again.
    app.db(|c| {
        diesel::sql_query("ALTER TABLE script_versions_gone RENAME TO script_versions")
            .execute(c)
            .unwrap()
    })
    .await;
    assert_eq!(victor.get("/healthz").await.status, 200);
    let whole = victor.get(&paths::scripts_export("demo")).await;
    assert_eq!(whole.status, 200);
    assert!(whole.body.ends_with("\n  ]\n}"));
}

/// The audit CSV's format: every field quoted, quotes doubled, formulas defused.
fn csv_line(r: &audit::AuditRow) -> String {
    let field = |v: &str| {
        let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{v}")
        } else {
            v.to_owned()
        };
        format!("\"{}\"", v.replace('"', "\"\""))
    };
    [
        r.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        r.actor.clone().unwrap_or_else(|| "system".into()),
        r.action.clone(),
        r.target_type.clone(),
        r.target_label.clone(),
        r.comment.clone(),
    ]
    .iter()
    .map(|f| field(f))
    .collect::<Vec<_>>()
    .join(",")
        + "\n"
}

async fn the_audit_csv_streams_every_row_newest_first(app: TestApp) {
    let app = app.with_demo().await;
    let ws = app
        .db(|c| {
            let ws = demo_ws(c);
            let (carol, alice) = (id_of(c, "carol"), id_of(c, "alice"));
            let base = releasedesk::db::now();
            let mut rows = BatchInsert::new(
                "audit_log",
                &[
                    "workspace_id",
                    "actor_id",
                    "action",
                    "target_type",
                    "target_id",
                    "target_label",
                    "comment",
                    "created_at",
                ],
            );
            for i in 0..1_234i64 {
                // 700 rows share one time, across the 500-row page boundary; the rest step
                // back a second each, inserted out of order.
                let at: NaiveDateTime = if i < 700 {
                    base
                } else {
                    base - chrono::Duration::seconds((i * 7919) % 1_000 + 1)
                };
                rows.push(
                    c,
                    vec![
                        ws.into(),
                        Some(if i % 2 == 0 { carol } else { alice }).into(),
                        format!("memory.{}", if i % 5 == 0 { "odd" } else { "even" }).into(),
                        "script".into(),
                        Some(i).into(),
                        format!("etl/s_{i}.sql").into(),
                        match i % 4 {
                            0 => format!("=HYPERLINK(\"x\") {i}"),
                            1 => format!("two\nlines, \"quoted\" {i}"),
                            2 => format!("-{i}"),
                            _ => format!("plain {i}"),
                        }
                        .into(),
                        at.into(),
                    ],
                )
                .unwrap();
            }
            rows.flush(c).unwrap();
            ws
        })
        .await;
    let victor = app.signed_in("victor").await;
    for (query, filter) in [
        ("", audit::AuditFilter::default()),
        (
            "?action=memory.",
            audit::AuditFilter {
                action: Some("memory.".into()),
                actor: None,
            },
        ),
        (
            "?action=memory.odd&actor=carol",
            audit::AuditFilter {
                action: Some("memory.odd".into()),
                actor: Some("carol".into()),
            },
        ),
    ] {
        let resp = victor
            .http
            .get(format!("{}/workspaces/demo/audit.csv{query}", victor.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(resp.headers().get("content-length").is_none());
        let body = resp.text().await.unwrap();
        let all = app
            .db(move |c| audit::list(c, Some(ws), &filter, 1_000_000, 0).unwrap().0)
            .await;
        let expected: String =
            std::iter::once("time_utc,actor,action,target_type,target,comment\n".to_owned())
                .chain(all.iter().map(csv_line))
                .collect();
        assert_eq!(body, expected, "audit.csv{query}");
        if query.is_empty() {
            assert!(all.len() > 1_234);
            assert!(body.contains("\"'=HYPERLINK(\"\"x\"\") 0\""), "defused");
            assert!(body.contains("\"'-2\""));
        }
    }
    // Page by page through the data layer: each row once, in order, across equal times.
    let keys = app
        .db(move |c| {
            let filter = audit::AuditFilter::default();
            let mut keys = Vec::new();
            let mut after = None;
            loop {
                let page =
                    audit::page_after(c, Some(ws), &filter, after, audit::DOWNLOAD_PAGE_ROWS)
                        .unwrap();
                let Some(last) = page.last() else { break };
                after = Some(last.key());
                keys.extend(page.iter().map(|r| (r.created_at, r.id)));
            }
            keys
        })
        .await;
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(keys, sorted, "newest first, no row twice or missing");
}

/// Scripts `{prefix}/{i}` of `lines_per_script` lines of `width` bytes, submitted twice with
/// every line changed, and the two packages that hold their first and second versions (alice
/// releases, carol reviews). Returns (first package, second package, script ids).
fn two_packages(
    c: &mut DbConn,
    prefix: &str,
    n: usize,
    lines_per_script: usize,
    width: usize,
) -> (i64, i64, Vec<i64>) {
    let ws = demo_ws(c);
    let (alice, carol) = (id_of(c, "alice"), id_of(c, "carol"));
    let draft = |content: String| scripts::ScriptDraft {
        script_type: ScriptType::Sql,
        schedule: String::new(),
        description: Default::default(),
        content,
    };
    let mut ids = Vec::new();
    let mut first = Vec::new();
    for i in 0..n {
        let path = ScriptPath::parse(&format!("{prefix}/{i:02}.sql")).unwrap();
        let s = scripts::create(
            c,
            alice,
            ws,
            &path,
            &draft(lines(lines_per_script, width, "one")),
        )
        .unwrap();
        first.push(
            scripts::submit_version(c, alice, ws, s.id, "one")
                .unwrap()
                .task_id
                .unwrap(),
        );
        ids.push(s.id);
    }
    let release = |c: &mut DbConn, tasks: Vec<TaskId>, name: &str| {
        releases::release(
            c,
            alice,
            ws,
            &releases::ReleaseRequest {
                task_ids: tasks,
                name: name.parse().unwrap(),
                comment: Default::default(),
                reviewers: vec![carol],
            },
        )
        .unwrap()
        .package_id
    };
    let a = release(c, first, &format!("{prefix}-one"));
    let mut second = Vec::new();
    for id in &ids {
        scripts::save_draft(
            c,
            alice,
            ws,
            *id,
            &draft(lines(lines_per_script, width, "two")),
        )
        .unwrap();
        second.push(
            scripts::submit_version(c, alice, ws, *id, "two")
                .unwrap()
                .task_id
                .unwrap(),
        );
    }
    let b = release(c, second, &format!("{prefix}-two"));
    (a.get(), b.get(), ids)
}

async fn compare_stops_at_its_budget_and_links_the_full_diff(app: TestApp) {
    let app = app.with_demo().await;
    // 12 scripts of 3,000 changed lines: 6,000 rows each, 2,000 shown, 5 scripts fill the page.
    let (a, b, _) = app.db(|c| two_packages(c, "cmp", 12, 3_000, 40)).await;
    let victor = app.signed_in("victor").await;
    let page = victor
        .get(&format!(
            "/workspaces/demo/task-release/packages/{b}/compare?with={a}"
        ))
        .await;
    assert_eq!(page.status, 200);
    let full = format!("/workspaces/demo/task-release/packages/{b}/compare.diff?with={a}");
    let html = page.html();
    let href = |sel: &str| -> Vec<String> {
        html.select(&scraper::Selector::parse(sel).unwrap())
            .map(|e| e.value().attr("href").unwrap().to_owned())
            .collect()
    };
    assert_eq!(href("#full-diff"), std::slice::from_ref(&full));
    assert!(page.has("#compare-cut"));
    assert_eq!(page.texts(".subtitle"), ["12 scripts in either package."]);
    let sections = page.texts("section.card h2 .mono");
    assert_eq!(sections.len(), 5, "{sections:?}");
    assert_eq!(sections[0], "cmp/00.sql");
    let rows = page
        .texts("table.diff-inline tbody tr:not(.diff-hunk)")
        .len();
    assert_eq!(rows, diff::PAGE_BUDGET.rows);
    let notes = page.texts(".diff-note");
    assert_eq!(notes.len(), 5);
    assert!(
        notes[0].starts_with("… 4000 more lines not shown: this change is too large to show in full (3000 lines added and 3000 removed in all). Download the full diff"),
        "{}",
        notes[0]
    );
    assert!(href(".diff-note a").iter().all(|h| *h == full));
    assert_eq!(
        page.texts("#compare-more"),
        [
            "… 7 more scripts not shown: this page shows at most 10,000 lines. Download the full diff (plain text)."
        ]
    );

    // The full diff: every script, every line, one script after the other.
    let resp = victor
        .http
        .get(format!("{}{full}", victor.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(resp.headers().get("content-length").is_none());
    let text = resp.text().await.unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("--- ")).collect();
    assert_eq!(headers.len(), 12);
    assert_eq!(headers[0], format!("--- a/cmp/00.sql\tv1 in cmp-one"));
    assert!(text.contains("\n+++ b/cmp/11.sql\tv2 in cmp-two\n"));
    assert_eq!(
        text.lines().filter(|l| l.starts_with('+')).count(),
        12 * 3_001
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with('-')).count(),
        12 * 3_001
    );

    // Compared the other way round, a small change shows whole, with no notice.
    let (c1, c2, _) = app.db(|c| two_packages(c, "small", 2, 10, 40)).await;
    let small = victor
        .get(&format!(
            "/workspaces/demo/task-release/packages/{c2}/compare?with={c1}"
        ))
        .await;
    assert!(!small.has("#compare-cut") && !small.has(".diff-note") && !small.has("#compare-more"));
    assert_eq!(small.texts("section.card h2 .mono").len(), 2);
    // Another workspace's package is not found, streamed or not.
    let bob = app.signed_in("bob").await;
    let foreign = bob
        .get(&format!(
            "/workspaces/payments/task-release/packages/{b}/compare.diff?with={a}"
        ))
        .await;
    assert_eq!(foreign.status, 404);
}

async fn a_task_and_a_script_diff_stop_at_their_budget_with_the_full_diff_linked(app: TestApp) {
    let app = app.with_demo().await;
    let (_, _, ids) = app.db(|c| two_packages(c, "one", 1, 3_000, 40)).await;
    let script = ids[0];
    let task: i64 = app
        .db(move |c| {
            releasedesk::db::schema::release_tasks::table
                .filter(releasedesk::db::schema::release_tasks::script_id.eq(script))
                .filter(releasedesk::db::schema::release_tasks::version_number.eq(2))
                .select(releasedesk::db::schema::release_tasks::id)
                .first(c)
                .unwrap()
        })
        .await;
    let victor = app.signed_in("victor").await;
    for (page_path, full) in [
        (
            paths::task("demo", TaskId(task)),
            format!("/workspaces/demo/task-release/tasks/{task}/diff?against=previous"),
        ),
        (
            format!("/workspaces/demo/task-release/tasks/{task}?view=side"),
            format!("/workspaces/demo/task-release/tasks/{task}/diff?against=previous"),
        ),
        (
            format!("/workspaces/demo/scripts/{script}?from=1&to=2"),
            format!("/workspaces/demo/scripts/{script}/diff?from=1&to=2"),
        ),
    ] {
        let page = victor.get(&page_path).await;
        assert_eq!(page.status, 200, "{page_path}");
        let notes = page.texts(".diff-note");
        assert_eq!(notes.len(), 1, "{page_path}: {notes:?}");
        assert!(
            notes[0].starts_with("… 4000 more lines not shown"),
            "{}",
            notes[0]
        );
        let links: Vec<String> = page
            .html()
            .select(&scraper::Selector::parse(".diff-note a").unwrap())
            .map(|e| e.value().attr("href").unwrap().to_owned())
            .collect();
        assert_eq!(links, std::slice::from_ref(&full), "{page_path}");
        let rows = page.texts("table.diff tbody tr:not(.diff-hunk)").len();
        assert!(rows <= diff::SCRIPT_BUDGET.rows, "{page_path}: {rows} rows");

        let text = victor.get(&full).await;
        assert_eq!(text.status, 200);
        assert_eq!(
            text.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(
            text.header("content-disposition")
                .unwrap()
                .ends_with(".diff\"")
        );
        assert_eq!(
            text.body.lines().filter(|l| l.starts_with('+')).count(),
            3_001
        );
        assert_eq!(
            text.body.lines().filter(|l| l.starts_with('-')).count(),
            3_001
        );
    }
    // Against production: the script is not live, so the whole file is new.
    let new = victor
        .get(&format!(
            "/workspaces/demo/task-release/tasks/{task}/diff?against=production"
        ))
        .await;
    assert!(
        new.body
            .starts_with("--- /dev/null\n+++ b/one/00.sql\tv2\n"),
        "{}",
        &new.body[..80]
    );
    let bad = victor
        .get(&format!(
            "/workspaces/demo/task-release/tasks/{task}/diff?against=elsewhere"
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("against is previous or production."));
    let missing = victor
        .get(&format!(
            "/workspaces/demo/scripts/{script}/diff?from=1&to=9"
        ))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        victor
            .get(&format!("/workspaces/demo/scripts/{script}/diff?from=1"))
            .await
            .status,
        400
    );
}

on_both_backends!(
    an_export_streams_every_script_in_pages_in_the_bundle_format,
    an_export_page_holds_at_most_its_byte_budget,
    a_download_cut_by_a_database_error_ends_without_its_closing_bytes,
    the_audit_csv_streams_every_row_newest_first,
    compare_stops_at_its_budget_and_links_the_full_diff,
    a_task_and_a_script_diff_stop_at_their_budget_with_the_full_diff_linked,
);

/// A `releasedesk serve` child on the test's database (the release build when
/// `RELEASEDESK_BIN` names it), with its output kept for failures.
struct Server {
    child: std::process::Child,
    base: String,
    log: tempfile::NamedTempFile,
}

impl Server {
    fn start(database_url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = std::env::var("RELEASEDESK_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_releasedesk").to_owned());
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = std::process::Command::new(bin)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .env_remove("DATABASE_URL")
            .env("RELEASEDESK_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start releasedesk serve");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The process's own memory (not the mapped database file's pages), in KiB.
    fn rss_anon_kib(&self) -> u64 {
        rss_anon_kib(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_anon_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The highest RssAnon of `pid` while it runs, sampled every 10 ms on its own thread.
struct PeakSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakSampler {
    fn start(pid: u32) -> PeakSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_anon_kib(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        });
        PeakSampler { stop, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What [`drain`] saw of a response.
struct Drained {
    status: u16,
    /// The body's size as sent, and its `Content-Encoding`.
    bytes: usize,
    encoding: String,
    /// It ended with its closing chunk.
    complete: bool,
}

/// Reads a GET's body to its end, keeping only its size.
async fn drain(client: &reqwest::Client, url: String, encoding: &str) -> Drained {
    let mut resp = client
        .get(url)
        .header("accept-encoding", encoding)
        .send()
        .await
        .unwrap();
    let mut out = Drained {
        status: resp.status().as_u16(),
        bytes: 0,
        encoding: resp
            .headers()
            .get("content-encoding")
            .map_or("identity".to_owned(), |v| v.to_str().unwrap().to_owned()),
        complete: false,
    };
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => out.bytes += c.len(),
            Ok(None) => {
                out.complete = true;
                return out;
            }
            Err(_) => return out,
        }
    }
}

/// The soak: big data, the real binary, several heavy requests at once; the server's RssAnon
/// must stay under 64 MiB and come back to its idle level. Sizes: `SOAK_SCRIPTS` (47,000
/// scripts of about 2.2 KB to export), `SOAK_COMPARE_SCRIPTS` (two packages of 30 scripts of
/// about 1 MiB), `SOAK_AUDIT` (100,000 audit rows); `SOAK_BACKEND=postgres` for PostgreSQL;
/// `SOAK_ENCODING` the Accept-Encoding sent (a browser's by default); `SOAK_NO_ASSERT=1` to
/// only print the figures (to measure a build without the fix).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes of seeding and requests: run by bench/memory-soak.sh"]
async fn memory_soak() {
    let backend = match std::env::var("SOAK_BACKEND").as_deref() {
        Ok("postgres") => support::Backend::Postgres,
        _ => support::Backend::Sqlite,
    };
    let n_scripts = env_number("SOAK_SCRIPTS", 47_000);
    let n_compare = env_number("SOAK_COMPARE_SCRIPTS", 30);
    let n_audit = env_number("SOAK_AUDIT", 100_000);
    let encoding =
        std::env::var("SOAK_ENCODING").unwrap_or_else(|_| "gzip, deflate, br, zstd".to_owned());
    let check = std::env::var("SOAK_NO_ASSERT").as_deref() != Ok("1");

    let app = TestApp::spawn_with(backend, |s| s.run_worker = false)
        .await
        .expect("PostgreSQL: set RELEASEDESK_TEST_DATABASE_URL")
        .with_demo()
        .await;
    let seeding = Instant::now();
    let (a, b) = app
        .db(move |c| {
            let ws = demo_ws(c);
            // About 2.2 KB a script, as in the report (47,000 scripts, a 106 MB export).
            seed_scripts(c, ws.get(), "soak", n_scripts, |i| {
                lines(40, 54, &format!("s{i}"))
            });
            // 12,000 lines of 81 bytes: 972 KB a script, every line changed between packages.
            let (a, b, _) = two_packages(c, "cmp", n_compare, 12_000, 80);
            let carol = id_of(c, "carol");
            let mut rows = BatchInsert::new(
                "audit_log",
                &[
                    "workspace_id",
                    "actor_id",
                    "action",
                    "target_type",
                    "target_id",
                    "target_label",
                    "comment",
                    "created_at",
                ],
            );
            let base = releasedesk::db::now();
            for i in 0..n_audit as i64 {
                rows.push(
                    c,
                    vec![
                        ws.into(),
                        Some(carol).into(),
                        "script.submitted".into(),
                        "script".into(),
                        Some(i).into(),
                        format!("soak/s_{i:06}.sql").into(),
                        format!(
                            "v{i} submitted: {}",
                            "a reasonably long comment ".repeat(12)
                        )
                        .into(),
                        (base - chrono::Duration::seconds(i)).into(),
                    ],
                )
                .unwrap();
            }
            rows.flush(c).unwrap();
            (a, b)
        })
        .await;
    if backend == support::Backend::Sqlite {
        // As a running server's checkpointer would have: the seeded pages are in the database
        // file, read through the memory map, not in each connection's cache of WAL pages.
        app.db(|c| {
            diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(c)
                .unwrap()
        })
        .await;
    }
    eprintln!(
        "seeded {n_scripts} scripts, 2 packages of {n_compare} scripts, {n_audit} audit rows in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );

    let paths = [
        ("export", paths::scripts_export("demo")),
        (
            "compare",
            format!("/workspaces/demo/task-release/packages/{b}/compare?with={a}"),
        ),
        ("audit.csv", paths::audit_csv("demo")),
    ];
    let times = |counts: [usize; 3]| -> Vec<String> {
        paths
            .iter()
            .zip(counts)
            .flat_map(|((_, p), n)| std::iter::repeat_n(p.clone(), n))
            .collect()
    };
    // Each round on a fresh server: its idle level, its peak, and where it is 5 s after.
    let rounds: Vec<(&str, Vec<String>)> = vec![
        ("1 export", times([1, 0, 0])),
        ("3 exports at once", times([3, 0, 0])),
        ("1 Compare Version", times([0, 1, 0])),
        ("3 Compare Version at once", times([0, 3, 0])),
        ("4 audit.csv at once", times([0, 0, 4])),
        ("3 exports + 3 compares + 4 CSVs at once", times([3, 3, 4])),
    ];
    eprintln!("Accept-Encoding: {encoding}");
    eprintln!(
        "| requests | each response as sent | seconds | RssAnon idle MiB | peak MiB | 5 s after MiB |"
    );
    eprintln!("| --- | --- | --- | --- | --- | --- |");
    // SQLite reads the database through a 256 MiB memory map; the pages past it go through
    // each pooled connection's page cache (2,000 KiB, the default `cache_size`), which stays
    // filled once read: a bounded cache, not memory held for a request.
    let page_caches = match backend {
        support::Backend::Sqlite => 8 * 2_000,
        support::Backend::Postgres => 0,
    };
    let mut failures = Vec::new();
    for (name, urls) in rounds {
        let server = Server::start(&app.database_url);
        let client = support::Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while client
            .http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "no answer:\n{}", server.output());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(client.login("victor", support::PASSWORD).await.status, 303);
        for path in [
            "/workspaces/demo",
            "/workspaces/demo/audit",
            "/workspaces/demo/scripts",
        ] {
            assert_eq!(client.get(path).await.status, 200);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = server.rss_anon_kib();

        let sampler = PeakSampler::start(server.child.id());
        let started = Instant::now();
        let answers = futures_util::future::join_all(
            urls.iter()
                .map(|u| drain(&client.http, format!("{}{u}", server.base), &encoding)),
        )
        .await;
        let seconds = started.elapsed().as_secs_f64();
        let peak = sampler.finish();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after = server.rss_anon_kib();
        for a in &answers {
            assert_eq!(a.status, 200, "{name}:\n{}", server.output());
            assert!(a.complete, "{name}: a body was cut:\n{}", server.output());
        }
        let sizes: Vec<String> = answers
            .iter()
            .zip(&urls)
            .map(|(a, u)| {
                let what = paths.iter().find(|(_, p)| p == u).map_or("", |(w, _)| w);
                format!("{what} {:.1} MB {}", a.bytes as f64 / 1e6, a.encoding)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mib = |kib: u64| kib as f64 / 1024.0;
        eprintln!(
            "| {name} | {} | {seconds:.1} | {:.1} | {:.1} | {:.1} |",
            sizes.join(", "),
            mib(idle),
            mib(peak),
            mib(after)
        );
        if peak >= 64 * 1024 {
            failures.push(format!("{name}: RssAnon reached {:.1} MiB", mib(peak)));
        }
        if after >= idle + 8 * 1024 + page_caches {
            failures.push(format!(
                "{name}: RssAnon stayed at {:.1} MiB 5 s after (idle {:.1} MiB)",
                mib(after),
                mib(idle)
            ));
        }
    }
    if check {
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
