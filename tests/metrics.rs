//! `/metrics`: the series it promises (request durations per route pattern, job queues,
//! packages and region tasks by state, build info) with values that follow what happened, and
//! a body that `promtool check metrics` (Debian's `prometheus` package) accepts.
//! `RELEASEDESK_REQUIRE_PROMTOOL=1` (set by `.ci/run`) makes a missing promtool a failure.

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use releasedesk::db::models::jobs;
use support::{Backend, TestApp};

/// Each sample of a text exposition: `name{labels}` → value.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample is `series value`");
            let value = value.parse().unwrap_or_else(|_| panic!("a number in {l}"));
            (series.to_owned(), value)
        })
        .collect()
}

/// `promtool check metrics` on `body`: `Err` with its findings, or `None` when promtool is not
/// installed (a failure under `RELEASEDESK_REQUIRE_PROMTOOL=1`).
fn promtool_check(body: &str) -> Option<Result<(), String>> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("RELEASEDESK_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1") {
                panic!("RELEASEDESK_REQUIRE_PROMTOOL=1 but promtool is not installed");
            }
            eprintln!("promtool is not installed: the exposition format is not checked");
            return None;
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

async fn metrics_follow_requests_and_the_queue_and_pass_promtool(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    for _ in 0..2 {
        assert_eq!(
            alice
                .get("/workspaces/demo/task-release/tasks")
                .await
                .status,
            200
        );
    }
    assert_eq!(alice.get("/no/such/page").await.status, 404);
    let depth = r#"releasedesk_job_queue_depth{queue="release_package"}"#;
    let before = samples(&app.client().get("/metrics").await.body)[depth];
    // No worker runs, so what is enqueued stays queued.
    app.db(|c| {
        for payload in ["901", "902"] {
            jobs::enqueue(c, jobs::RELEASE_PACKAGE, payload).unwrap();
        }
    })
    .await;

    let resp = app.client().get("/metrics").await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4"))
    );
    let body = resp.body;
    let s = samples(&body);
    let get = |series: &str| {
        *s.get(series)
            .unwrap_or_else(|| panic!("{series} is missing from:\n{body}"))
    };

    let tasks = r#"method="GET",route="/workspaces/{ws}/task-release/tasks",class="2xx""#;
    assert_eq!(
        get(&format!(
            "releasedesk_http_request_duration_seconds_count{{{tasks}}}"
        )),
        2.0
    );
    assert_eq!(
        get(&format!(
            "releasedesk_http_request_duration_seconds_bucket{{{tasks},le=\"+Inf\"}}"
        )),
        2.0
    );
    assert!(
        get(&format!(
            "releasedesk_http_request_duration_seconds_sum{{{tasks}}}"
        )) > 0.0
    );
    assert!(
        get(
            r#"releasedesk_http_request_duration_seconds_count{method="GET",route="unmatched",class="4xx"}"#
        ) >= 1.0
    );
    assert!(
        !body.contains("/no/such/page"),
        "a raw path is never a label"
    );
    assert!(get(r#"releasedesk_http_requests_total{class="2xx"}"#) >= 2.0);

    assert_eq!(get(depth), before + 2.0);
    // The demo's region tasks wait in the other queue.
    assert!(get(r#"releasedesk_job_queue_depth{queue="region_execution"}"#) >= 0.0);
    assert_eq!(
        get(r#"releasedesk_jobs_running{queue="release_package"}"#),
        0.0
    );
    let age = get(r#"releasedesk_job_queue_oldest_due_age_seconds{queue="release_package"}"#);
    assert!((0.0..60.0).contains(&age), "{age}");

    let packages: f64 = releasedesk::domain::PackageStatus::ALL
        .iter()
        .map(|st| {
            get(&format!(
                "releasedesk_release_packages{{status=\"{}\"}}",
                st.as_str()
            ))
        })
        .sum();
    let rows = app
        .db(|c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::release_packages;
            release_packages::table
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(packages, rows as f64);
    assert!(get(r#"releasedesk_release_packages{status="released"}"#) >= 1.0);
    for st in releasedesk::domain::RegionTaskStatus::ALL {
        get(&format!(
            "releasedesk_region_tasks{{status=\"{}\"}}",
            st.as_str()
        ));
    }

    assert_eq!(
        get(&format!(
            "releasedesk_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    assert!(get("releasedesk_db_queries_total") > 0.0);

    if let Some(checked) = promtool_check(&body) {
        checked.unwrap_or_else(|findings| panic!("promtool check metrics:\n{findings}\n{body}"));
    }
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_follow_requests_and_the_queue_and_pass_promtool() {
        let app = super::TestApp::spawn_with(super::Backend::Sqlite, |s| s.run_worker = false)
            .await
            .expect("sqlite");
        super::metrics_follow_requests_and_the_queue_and_pass_promtool(app).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_follow_requests_and_the_queue_and_pass_promtool() {
        if let Some(app) =
            super::TestApp::spawn_with(super::Backend::Postgres, |s| s.run_worker = false).await
        {
            super::metrics_follow_requests_and_the_queue_and_pass_promtool(app).await;
        }
    }
}
