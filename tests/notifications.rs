//! Notification email end to end, on SQLite and PostgreSQL, against a real SMTP server
//! (Debian's aiosmtpd, run by Debian's own interpreter, writing a Maildir the test reads):
//! the right people get one message each with a link to the exact item; a send that fails is
//! retried and delivered once; two senders never send one delivery twice. People's choices
//! per kind (`tests/notification_prefs.rs` tests them) start at the defaults, which leave
//! approvals and releases out; the tests here that expect those set them.

mod support;

use std::time::{Duration, Instant};

use releasedesk::config::SmtpUrl;
use releasedesk::db::models::notifications::{
    self, DeliveryStatus, Event, NotificationKind, Subject,
};
use releasedesk::db::models::{preferences, users, workspaces};
use releasedesk::domain::{PackageId, TaskId, UserId, WorkspaceId};
use releasedesk::paths;
use releasedesk::worker::notify::{self, Mail};
use support::TestApp;
use support::fixtures::gated_rollout;
use support::smtp::{SmtpServer, mailing_demo};

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

async fn demo(app: &TestApp) -> WorkspaceId {
    app.db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await
}

fn package_of(resp: &support::Resp) -> PackageId {
    resp.location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no package in {:?}: {}", resp.location(), resp.body))
}

async fn deliveries(app: &TestApp) -> Vec<notifications::DeliveryRow> {
    let ws = demo(app).await;
    app.db(move |c| notifications::list(c, ws).unwrap()).await
}

async fn review_approval_and_release_each_mail_the_right_person_once(app: TestApp) {
    let smtp = SmtpServer::started();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let alice = app.signed_in("alice").await;
    let bob_id = id_of(&app, "bob").await;
    // Approvals and releases are off by default: alice asks for both, bob for releases.
    let alice_id = id_of(&app, "alice").await;
    app.db(move |c| {
        let on_too = |extra: &[NotificationKind]| -> Vec<NotificationKind> {
            preferences::choosable()
                .filter(|k| notifications::email_by_default(*k) || extra.contains(k))
                .collect()
        };
        use NotificationKind::{PackageApproved, PackageReleased};
        preferences::save(
            c,
            alice_id,
            &on_too(&[PackageApproved, PackageReleased]),
            None,
        )
        .unwrap();
        preferences::save(c, bob_id, &on_too(&[PackageReleased]), None).unwrap();
    })
    .await;
    let task = alice.submit_new_script("demo", "notify/review.sql").await;
    let resp = alice.release("demo", &[task], &[bob_id], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package = package_of(&resp);
    let link = format!("{}{}", app.base, paths::package("demo", package));

    let got = smtp.wait_for(1).await;
    assert_eq!(got.len(), 1, "one message: {got:#?}");
    let review = &got[0];
    assert_eq!(review.to, "bob@example.com");
    assert!(
        review.subject.contains("Review requested"),
        "{}",
        review.subject
    );
    assert!(review.text.contains(&link), "{}", review.text);
    assert!(review.text.contains("alice asks you"), "{}", review.text);
    assert!(
        review.html.contains(&format!("href=\"{link}\"")),
        "{}",
        review.html
    );

    let bob = app.signed_in("bob").await;
    let decided = bob.decide_package("demo", package, "approve", "").await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    // Alice: approved, then released; bob (who approved) the outcome, not his own approval.
    smtp.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let got = smtp.messages();
    assert_eq!(got.len(), 4, "{got:#?}");
    let subjects_to = |to: &str| -> Vec<String> {
        got.iter()
            .filter(|m| m.to == to)
            .map(|m| m.subject.clone())
            .collect()
    };
    let (to_alice, to_bob) = (
        subjects_to("alice@example.com"),
        subjects_to("bob@example.com"),
    );
    assert_eq!(to_alice.len(), 2, "{to_alice:?}");
    assert!(
        to_alice.iter().any(|s| s.contains("Approved")),
        "{to_alice:?}"
    );
    assert!(
        to_alice.iter().any(|s| s.contains("Released")),
        "{to_alice:?}"
    );
    assert_eq!(to_bob.len(), 2, "review requested and released: {to_bob:?}");
    assert!(to_bob.iter().any(|s| s.contains("Released")), "{to_bob:?}");
    let released = got
        .iter()
        .find(|m| m.to == "alice@example.com" && m.subject.contains("Released"))
        .unwrap();
    assert!(released.text.contains(&link), "{}", released.text);
    assert!(
        released.subject.ends_with("in Demo Data Platform"),
        "{}",
        released.subject
    );
    let ids: std::collections::HashSet<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "every message once");
    assert!(
        deliveries(&app)
            .await
            .iter()
            .all(|d| d.status == DeliveryStatus::Sent),
        "all recorded as sent"
    );
}

async fn a_failed_send_is_retried_and_delivered_once(app: TestApp) {
    let mut smtp = SmtpServer::reserved();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let alice = app.signed_in("alice").await;
    let bob_id = id_of(&app, "bob").await;
    let task = alice.submit_new_script("demo", "notify/late.sql").await;
    let resp = alice.release("demo", &[task], &[bob_id], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);

    // Nothing listens yet: the first attempt fails and is rescheduled.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = deliveries(&app).await;
        if rows
            .iter()
            .any(|d| d.attempts >= 1 && !d.last_error.is_empty())
        {
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].status, DeliveryStatus::Pending);
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    smtp.start();
    let got = smtp.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].to, "bob@example.com");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered once");
    let rows = deliveries(&app).await;
    assert_eq!(rows[0].status, DeliveryStatus::Sent, "{rows:?}");
    assert!(rows[0].attempts >= 2, "{rows:?}");
}

async fn two_senders_never_send_one_delivery_twice(app: TestApp) {
    // No SMTP for the app: its notifications are recorded, and the test's two senders send them.
    let app = app.with_demo().await;
    let smtp = SmtpServer::started();
    let ws = demo(&app).await;
    let mut people = Vec::new();
    for name in ["tara", "carol", "bob", "alice", "victor"] {
        people.push(id_of(&app, name).await);
    }
    let alice = app.signed_in("alice").await;
    let task = alice.submit_new_script("demo", "notify/two.sql").await;
    let bob_id = id_of(&app, "bob").await;
    let package = package_of(&alice.release("demo", &[task], &[bob_id], "", "").await);
    let raised = app
        .db(move |c| {
            notifications::raise(
                c,
                Event {
                    // On by default for everyone (`email_by_default`).
                    kind: NotificationKind::ReviewRequested,
                    workspace_id: ws,
                    subject: Subject::Package(package),
                    actor: None,
                },
                &people,
            )
            .unwrap()
        })
        .await;
    assert_eq!(raised, 5);
    let total = deliveries(&app).await.len();
    assert_eq!(total, 6, "the review request to bob, and five more");

    // A sender that claimed one delivery and died: its lease runs out, another sends it.
    let dead = app
        .db(|c| notifications::claim(c, "dead-sender", 1).unwrap())
        .await
        .expect("a due delivery");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let mail = Mail::new(smtp.url(), "releasedesk <releasedesk@localhost>", &app.base).unwrap();
    let senders: Vec<_> = ["sender-a", "sender-b"]
        .into_iter()
        .map(|name| {
            let (pool, mail) = (app.pool.clone(), mail.clone());
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().unwrap();
                let mut n = 0;
                while notify::send_one(&mut conn, &mail, name).unwrap() {
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
    assert_eq!(handled, total, "each delivery handled by one sender");
    let got = smtp.wait_for(total).await;
    assert_eq!(got.len(), total, "{got:#?}");
    let ids: std::collections::HashSet<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), total, "no message twice");
    let rows = deliveries(&app).await;
    assert!(
        rows.iter().all(|d| d.status == DeliveryStatus::Sent),
        "{rows:?}"
    );
    // The dead sender's late mark changes nothing.
    let late = app
        .db(move |c| notifications::mark_sent(c, dead.id, "dead-sender").unwrap())
        .await;
    assert!(!late);
}

async fn a_review_request_for_a_package_decided_before_sending_is_skipped(app: TestApp) {
    let app = app.with_demo().await;
    let smtp = SmtpServer::started();
    let alice = app.signed_in("alice").await;
    let bob_id = id_of(&app, "bob").await;
    let task = alice.submit_new_script("demo", "notify/stale.sql").await;
    let package = package_of(&alice.release("demo", &[task], &[bob_id], "", "").await);
    let bob = app.signed_in("bob").await;
    let resp = bob
        .decide_package("demo", package, "reject", "not like this")
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let mail = Mail::new(smtp.url(), "releasedesk <releasedesk@localhost>", &app.base).unwrap();
    let handled = app
        .db(move |c| {
            let mut n = 0;
            while notify::send_one(c, &mail, "sender").unwrap() {
                n += 1;
            }
            n
        })
        .await;
    assert_eq!(handled, 2, "the review request and the rejection");
    let got = smtp.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].to, "alice@example.com");
    assert!(got[0].subject.contains("Rejected"), "{}", got[0].subject);
    let rows = deliveries(&app).await;
    let review = rows
        .iter()
        .find(|d| d.kind == NotificationKind::ReviewRequested)
        .unwrap();
    assert_eq!(review.status, DeliveryStatus::Skipped);
    assert!(
        review.last_error.contains("already rejected by bob"),
        "{}",
        review.last_error
    );
}

async fn a_waiting_checkpoint_mails_the_people_named_on_it(app: TestApp) {
    let smtp = SmtpServer::started();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let ws = demo(&app).await;
    let (bob, carol) = (id_of(&app, "bob").await, id_of(&app, "carol").await);
    let task = gated_rollout(&app, ws, "Upgrade behind a gate", bob, vec![carol, bob]).await;
    let got = smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let got = if got.len() == 1 { smtp.messages() } else { got };
    assert_eq!(got.len(), 1, "carol only, not bob who started it: {got:#?}");
    let mail = &got[0];
    assert_eq!(mail.to, "carol@example.com");
    assert!(
        mail.subject.contains("Waiting for you: step 1"),
        "{}",
        mail.subject
    );
    let link = format!("{}{}#step-1", app.base, paths::region_task("demo", task));
    assert!(mail.text.contains(&link), "{}", mail.text);
    assert!(mail.text.contains("started by bob"), "{}", mail.text);
}

async fn the_smtp_password_is_never_shown(_app: TestApp) {
    let url = SmtpUrl::parse("smtp://mailer@127.0.0.1:2525", Some("s3cret-pw")).unwrap();
    assert!(!format!("{url:?}").contains("s3cret-pw"));
    assert!(!url.to_string().contains("s3cret-pw"));
    let mut settings = releasedesk::config::Settings::new("127.0.0.1:0", "sqlite://x.db");
    settings.smtp = Some(url);
    assert!(!format!("{settings:?}").contains("s3cret-pw"));
    assert!(SmtpUrl::parse("http://x", None).is_err());
    assert!(
        SmtpUrl::parse("smtp://127.0.0.1", Some("pw")).is_err(),
        "no user"
    );
}

async fn a_rejected_checkpoint_mails_the_executor_why_the_release_failed(app: TestApp) {
    use releasedesk::db::models::region_release::{self as rr, CheckpointDecision};

    let app = app.with_demo().await;
    let smtp = SmtpServer::started();
    let ws = demo(&app).await;
    let (bob, carol) = (id_of(&app, "bob").await, id_of(&app, "carol").await);
    let task = gated_rollout(&app, ws, "Gate that says no", bob, vec![carol]).await;
    // The worker (no SMTP in this app) moves the release to the checkpoint.
    let step = loop {
        let steps = app.db(move |c| rr::steps(c, task).unwrap()).await;
        if steps[0].status() == releasedesk::domain::StepStatus::Waiting {
            break steps[0].id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    app.db(move |c| {
        let why = "not today".parse().unwrap();
        rr::decide_checkpoint(c, carol, ws, task, step, CheckpointDecision::Reject, &why).unwrap()
    })
    .await;
    let mail = Mail::new(smtp.url(), "releasedesk <releasedesk@localhost>", &app.base).unwrap();
    app.db(move |c| while notify::send_one(c, &mail, "sender").unwrap() {})
        .await;
    // Carol's "waiting" mail is skipped (she decided before it went out); bob's is the one.
    smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = smtp.messages();
    assert_eq!(got.len(), 1, "{got:#?}");
    let to_bob: Vec<_> = got.iter().filter(|m| m.to == "bob@example.com").collect();
    assert_eq!(to_bob.len(), 1, "{got:#?}");
    let failed = to_bob[0];
    assert!(
        failed
            .subject
            .contains("Release failed: region task Gate that says no"),
        "{}",
        failed.subject
    );
    assert!(
        failed.text.contains("carol stopped the region release “Gate that says no”, which you started (rejected: not today)"),
        "{}",
        failed.text
    );
    let link = format!("{}{}", app.base, paths::region_task("demo", task));
    assert!(failed.text.contains(&link), "{}", failed.text);
    assert!(
        failed.text.contains("because you started this run"),
        "{}",
        failed.text
    );
}

/// README's two walk-throughs, through the pages, with the default choices: each sends exactly
/// one message, to the person it waits for (carol), with a link to the item.
async fn the_readme_walk_throughs_send_exactly_the_expected_messages(app: TestApp) {
    use diesel::prelude::*;
    use releasedesk::db::schema::{components, regions, release_tasks};
    use releasedesk::domain::{RegionTaskId, StepStatus};

    let smtp = SmtpServer::started();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let ws = demo(&app).await;
    let carol_id = id_of(&app, "carol").await;

    // 1. Alice sends etl/daily_orders.sql v2 to carol; carol approves; it is released.
    let task = app
        .db(move |c| {
            release_tasks::table
                .filter(release_tasks::workspace_id.eq(ws))
                .filter(release_tasks::name.eq("etl/daily_orders.sql"))
                .filter(release_tasks::status.eq("pending"))
                .select(release_tasks::id)
                .first::<i64>(c)
                .unwrap()
        })
        .await;
    let alice = app.signed_in("alice").await;
    let resp = alice
        .release("demo", &[TaskId(task)], &[carol_id], "", "nightly fix")
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package = package_of(&resp);
    // Carol acts on the message, as a person would: after it arrived.
    assert_eq!(smtp.wait_for(1).await.len(), 1);
    let carol = app.signed_in("carol").await;
    let resp = carol.decide_package("demo", package, "approve", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !alice
        .get(&paths::package("demo", package))
        .await
        .texts("#package-status")
        .contains(&"Released".to_owned())
    {
        assert!(Instant::now() < deadline, "package not released");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 2. Bob runs a rollout through carol's Manual Approval, then rolls it back.
    let (us, gw) = app
        .db(move |c| {
            let us: i64 = regions::table
                .filter(regions::workspace_id.eq(ws))
                .filter(regions::name.eq("us-east-1"))
                .select(regions::id)
                .first(c)
                .unwrap();
            let gw: i64 = components::table
                .filter(components::workspace_id.eq(ws))
                .filter(components::name.eq("notification-gw"))
                .select(components::id)
                .first(c)
                .unwrap();
            (us, gw)
        })
        .await;
    let bob = app.signed_in("bob").await;
    let created = bob
        .post(
            &paths::region_tasks("demo"),
            &[
                ("name", "Walk-through rollout"),
                ("operation", "deploy"),
                ("rows", "2"),
                ("step0_kind", "approval"),
                ("step0_people", &carol_id.to_string()),
                ("step1_kind", "deploy"),
                ("step1_region", &us.to_string()),
                ("step1_components", &gw.to_string()),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let rt: RegionTaskId = created
        .location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .map(RegionTaskId)
        .unwrap();
    bob.execute("demo", rt, None).await;
    let step = loop {
        let steps = app
            .db(move |c| releasedesk::db::models::region_release::steps(c, rt).unwrap())
            .await;
        if steps[0].status() == StepStatus::Waiting {
            break steps[0].id;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "no wait"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(smtp.wait_for(2).await.len(), 2);
    carol.decide_step("demo", rt, step, "agree", "").await;
    for until in [
        releasedesk::domain::RegionTaskStatus::Released,
        releasedesk::domain::RegionTaskStatus::RolledBack,
    ] {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = app
                .db(move |c| {
                    releasedesk::db::models::region_release::find(c, ws, rt)
                        .unwrap()
                        .unwrap()
                        .status()
                })
                .await;
            if now == until {
                break;
            }
            assert!(Instant::now() < deadline, "{now:?}, not {until:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if until == releasedesk::domain::RegionTaskStatus::Released {
            bob.rollback("demo", rt, "walk-through").await;
        }
    }

    // Everything raised has been handled: only the two messages that wait for carol went out.
    let deadline = Instant::now() + Duration::from_secs(20);
    while deliveries(&app)
        .await
        .iter()
        .any(|d| d.status == DeliveryStatus::Pending)
    {
        assert!(Instant::now() < deadline, "deliveries still pending");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = smtp.messages();
    let mut summary: Vec<(String, String)> = got
        .iter()
        .map(|m| (m.to.clone(), m.subject.clone()))
        .collect();
    summary.sort();
    assert_eq!(summary.len(), 2, "{summary:#?}");
    assert!(
        summary.iter().all(|(to, _)| to == "carol@example.com"),
        "{summary:#?}"
    );
    let review = got
        .iter()
        .find(|m| m.subject.contains("Review requested"))
        .unwrap();
    assert!(
        review
            .text
            .contains(&format!("{}{}", app.base, paths::package("demo", package))),
        "{}",
        review.text
    );
    let gate = got
        .iter()
        .find(|m| m.subject.contains("Waiting for you"))
        .unwrap();
    assert!(
        gate.text.contains(&format!(
            "{}{}#step-1",
            app.base,
            paths::region_task("demo", rt)
        )),
        "{}",
        gate.text
    );
}

on_both_backends!(
    review_approval_and_release_each_mail_the_right_person_once,
    a_failed_send_is_retried_and_delivered_once,
    two_senders_never_send_one_delivery_twice,
    a_review_request_for_a_package_decided_before_sending_is_skipped,
    a_waiting_checkpoint_mails_the_people_named_on_it,
    the_smtp_password_is_never_shown,
    a_rejected_checkpoint_mails_the_executor_why_the_release_failed,
    the_readme_walk_throughs_send_exactly_the_expected_messages,
);
