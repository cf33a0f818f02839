//! A person's notification settings on the Account page, end to end on SQLite and PostgreSQL
//! against a real SMTP server (Debian's aiosmtpd, `support::smtp`): email on or off per event
//! kind with the documented defaults, honoured by `notifications::raise` (checked in the real
//! mailbox); the address, validated and audited; the rate-limited test email; and the daily
//! digest, which lists only what still waits and goes out once a day however many senders run.

mod support;

use std::time::Duration;

use chrono::Timelike;
use releasedesk::db::models::notifications::{self, DeliveryStatus, NotificationKind};
use releasedesk::db::models::preferences;
use releasedesk::db::models::{audit, users, workspaces};
use releasedesk::domain::{PackageId, UserId};
use releasedesk::paths;
use releasedesk::worker::notify::{self, Mail};
use support::smtp::{SmtpServer, mailing_demo};
use support::{Client, Resp, TestApp};

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

fn package_of(resp: &Resp) -> PackageId {
    assert_eq!(resp.status, 303, "{}", resp.body);
    resp.location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no package in {:?}: {}", resp.location(), resp.body))
}

/// `alice` asks `bob` to review a package of one new task.
async fn package_for_bob(app: &TestApp, alice: &Client, prefix: &'static str) -> PackageId {
    let bob = id_of(app, "bob").await;
    let tasks = app
        .db(move |c| support::submitted_tasks(c, "alice", prefix, 1))
        .await;
    package_of(&alice.release("demo", &tasks, &[bob], "", "").await)
}

/// Saves the Notifications form: email for `kinds`, and the digest hour (`"off"` for none).
async fn save_settings(client: &Client, kinds: &[NotificationKind], digest: &str) -> Resp {
    let mut form: Vec<(&str, &str)> = kinds.iter().map(|k| ("kinds", k.as_str())).collect();
    form.push(("digest_hour", digest));
    client.post(paths::account_notifications(), &form).await
}

/// The choosable kinds whose email is on by default, with `add` and without `remove`.
fn defaults_with(add: &[NotificationKind], remove: &[NotificationKind]) -> Vec<NotificationKind> {
    preferences::choosable()
        .filter(|k| (notifications::email_by_default(*k) || add.contains(k)) && !remove.contains(k))
        .collect()
}

fn mail_for(smtp: &SmtpServer, app: &TestApp) -> Mail {
    Mail::new(smtp.url(), "releasedesk <releasedesk@localhost>", &app.base).unwrap()
}

/// Sends every due delivery as `sender`; how many it handled.
async fn send_all(app: &TestApp, mail: &Mail, sender: &'static str) -> usize {
    let mail = mail.clone();
    app.db(move |c| {
        let mut n = 0;
        while notify::send_one(c, &mail, sender).unwrap() {
            n += 1;
        }
        n
    })
    .await
}

fn this_hour() -> String {
    chrono::Utc::now().hour().to_string()
}

async fn the_page_lists_every_kind_with_its_default_and_keeps_choices(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let page = alice.get(paths::account()).await;
    assert_eq!(page.status, 200);
    let rows = page.texts("#notification-kinds tbody tr");
    assert_eq!(rows.len(), preferences::choosable().count(), "{rows:?}");
    assert!(
        !page.has("#notification-kinds tr[data-kind=digest]"),
        "the digest has its own setting"
    );
    for kind in preferences::choosable() {
        let checked = page.has(&format!("#kind-{}[checked]", kind.as_str()));
        assert_eq!(checked, notifications::email_by_default(kind), "{kind:?}");
    }
    assert!(page.has("#kind-review_requested[checked]"));
    assert!(!page.has("#kind-package_approved[checked]"));
    assert!(page.has("#digest-hour option[value=off][selected]"));
    assert!(page.texts("#digest-hour-hint")[0].contains("UTC"));

    let kinds = defaults_with(
        &[NotificationKind::PackageApproved],
        &[NotificationKind::ReviewRequested],
    );
    let saved = save_settings(&alice, &kinds, "7").await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved.texts("#prefs-notice")[0].contains("07:00 UTC"),
        "{:?}",
        saved.texts("#prefs-notice")
    );
    let page = alice.get(paths::account()).await;
    assert!(page.has("#kind-package_approved[checked]"));
    assert!(!page.has("#kind-review_requested[checked]"));
    assert!(page.has("#digest-hour option[value='7'][selected]"));
    // Only the two choices that differ from the defaults are stored.
    let alice_id = id_of(&app, "alice").await;
    let stored = app
        .db(move |c| preferences::load(c, alice_id).unwrap())
        .await;
    assert_eq!(stored.digest.map(|h| h.get()), Some(7));
    let rows = app
        .db(move |c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::notification_preferences as np;
            np::table
                .filter(np::user_id.eq(alice_id))
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(rows, 2);

    // A bad hour re-renders the form as sent, with the message by the field.
    let bad = save_settings(&alice, &[NotificationKind::PackageFailed], "25").await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.has("#digest_hour-error"));
    assert!(bad.has("#kind-package_failed[checked]"));
    assert!(!bad.has("#kind-package_approved[checked]"), "as sent");
    let unknown = alice
        .post(
            paths::account_notifications(),
            &[("kinds", "everything"), ("digest_hour", "off")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.has("#kinds-error"));
    let after = app
        .db(move |c| preferences::load(c, alice_id).unwrap())
        .await;
    assert_eq!(after.digest.map(|h| h.get()), Some(7), "nothing saved");
}

async fn an_address_is_validated_audited_and_cleared(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let page = alice.get(paths::account()).await;
    assert_eq!(
        page.value("#notify-email").as_deref(),
        Some("alice@example.com")
    );
    assert!(!page.body.contains("bob@example.com"));

    for bad in ["not an address", "alice@", "Alice <alice@example.com>"] {
        let resp = alice.post(paths::account_email(), &[("email", bad)]).await;
        assert_eq!(resp.status, 422, "{bad}: {}", resp.body);
        assert!(resp.has("#email-error"), "{bad}");
        assert_eq!(
            resp.value("#notify-email").as_deref(),
            Some(bad),
            "as typed"
        );
    }
    let long = format!("{}@example.com", "a".repeat(300));
    let resp = alice
        .post(paths::account_email(), &[("email", &long)])
        .await;
    assert_eq!(resp.status, 422);
    assert!(resp.texts("#email-error")[0].contains("at most"));

    let resp = alice
        .post(
            paths::account_email(),
            &[("email", " alice.w@example.org ")],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.has("#email-notice"));
    assert_eq!(
        resp.value("#notify-email").as_deref(),
        Some("alice.w@example.org")
    );
    let resp = alice.post(paths::account_email(), &[("email", "")]).await;
    assert_eq!(resp.status, 200);
    assert!(resp.texts("#email-notice")[0].contains("no email"));
    let alice_id = id_of(&app, "alice").await;
    let email = app
        .db(move |c| preferences::load(c, alice_id).unwrap().email)
        .await;
    assert_eq!(email, "");

    // The tenant log says what changed, never the address.
    let (rows, _) = app
        .db(|c| {
            audit::list(
                c,
                None,
                &audit::AuditFilter {
                    action: Some("user.email".into()),
                    actor: Some("alice".into()),
                },
                50,
                0,
            )
            .unwrap()
        })
        .await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["user.email_cleared", "user.email_set"],
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| !r.comment.contains("example") && !r.target_label.contains("example"))
    );
    // The test email button needs an address now.
    let page = alice.get(paths::account()).await;
    assert!(page.has("#test-email-hint"));
}

async fn someone_who_opted_out_gets_no_message_and_an_opt_in_is_honoured(app: TestApp) {
    let smtp = SmtpServer::started();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    // Bob wants no review requests by email; alice wants to hear of approvals (off by default).
    let saved = save_settings(
        &bob,
        &defaults_with(&[], &[NotificationKind::ReviewRequested]),
        "off",
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let saved = save_settings(
        &alice,
        &defaults_with(&[NotificationKind::PackageApproved], &[]),
        "off",
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    let package = package_for_bob(&app, &alice, "prefs/optout").await;
    let decided = bob.decide_package("demo", package, "approve", "").await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    // Wait until the release is done, so every notification it raises is in the outbox.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while support::package_status(&app, "demo", package).await != "released" {
        assert!(std::time::Instant::now() < deadline, "not released");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = smtp.messages();
    let sent: Vec<(String, String)> = got
        .iter()
        .map(|m| (m.to.clone(), m.subject.clone()))
        .collect();
    assert_eq!(got.len(), 1, "alice's approval only: {sent:?}");
    assert_eq!(got[0].to, "alice@example.com");
    assert!(got[0].subject.contains("Approved"), "{}", got[0].subject);
    // Released is off by default for both; bob's review request was never raised.
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await;
    let rows = app.db(move |c| notifications::list(c, ws).unwrap()).await;
    assert!(
        rows.iter().all(
            |d| d.kind == NotificationKind::PackageApproved && d.status == DeliveryStatus::Sent
        ),
        "{rows:?}"
    );
}

async fn the_test_email_reaches_the_person_once_per_interval(app: TestApp) {
    let smtp = SmtpServer::started();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let alice = app.signed_in("alice").await;
    let resp = alice.post(paths::account_test_email(), &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let said = resp.texts("#test-email-result").join(" ");
    assert!(said.contains("Sent to a…@example.com"), "{said}");
    let got = smtp.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].to, "alice@example.com");
    assert!(
        got[0].subject.contains("Test message"),
        "{}",
        got[0].subject
    );
    assert!(
        got[0]
            .text
            .contains(&format!("{}{}", app.base, paths::account())),
        "{}",
        got[0].text
    );

    let again = alice.post(paths::account_test_email(), &[]).await;
    assert_eq!(again.status, 429, "{}", again.body);
    assert!(
        again
            .texts("#test-email-result")
            .join(" ")
            .contains("try again in")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1, "no second message");
}

async fn the_test_email_says_why_it_cannot_go(app: TestApp) {
    let backend = app.backend;
    // No SMTP: the page says so, and nothing is counted against the person.
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let resp = alice.post(paths::account_test_email(), &[]).await;
    assert_eq!(resp.status, 409);
    assert!(
        resp.texts("#test-email-result")
            .join(" ")
            .contains("This server sends no email: no --smtp-url is set"),
        "{}",
        resp.body
    );
    drop(app);

    // A server that is not there: its error, on the page.
    let smtp = SmtpServer::reserved();
    let url = smtp.url();
    let Some(app) = TestApp::spawn_with(backend, move |s| s.smtp = Some(url)).await else {
        return;
    };
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let resp = alice.post(paths::account_test_email(), &[]).await;
    assert_eq!(resp.status, 502, "{}", resp.body);
    let said = resp.texts("#test-email-result").join(" ");
    assert!(said.contains("Not sent to a…@example.com"), "{said}");
}

async fn a_digest_lists_what_still_waits_and_not_what_was_decided(app: TestApp) {
    // No SMTP for the app: the test raises the digest and sends the outbox itself.
    let app = app.with_demo().await;
    let smtp = SmtpServer::started();
    let mail = mail_for(&smtp, &app);
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let decided = package_for_bob(&app, &alice, "prefs/decided").await;
    let waiting = package_for_bob(&app, &alice, "prefs/waiting").await;
    let resp = bob.decide_package("demo", decided, "reject", "no").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let saved = save_settings(&bob, &defaults_with(&[], &[]), &this_hour()).await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    let raised = app
        .db(|c| preferences::raise_due_digests(c, releasedesk::db::now()).unwrap())
        .await;
    assert_eq!(raised, 1, "bob's only: nobody else asked for one");
    send_all(&app, &mail, "sender").await;
    let got = smtp.wait_for(3).await;
    let digests: Vec<_> = got
        .iter()
        .filter(|m| m.subject.contains("Daily digest:") && m.to == "bob@example.com")
        .collect();
    assert_eq!(digests.len(), 1, "{got:#?}");
    let digest = digests[0];
    let link = |p| format!("{}{}", app.base, paths::package("demo", p));
    assert!(digest.text.contains(&link(waiting)), "{}", digest.text);
    assert!(!digest.text.contains(&link(decided)), "{}", digest.text);
    assert!(
        digest.html.contains(&format!("href=\"{}\"", link(waiting))),
        "{}",
        digest.html
    );
    assert!(
        digest.text.contains("Review the release package"),
        "{}",
        digest.text
    );
}

async fn two_senders_raise_and_send_one_digest_a_day(app: TestApp) {
    let app = app.with_demo().await;
    let smtp = SmtpServer::started();
    let mail = mail_for(&smtp, &app);
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    // Bob takes review requests by digest only, so the digest is the only message.
    let saved = save_settings(
        &bob,
        &defaults_with(&[], &[NotificationKind::ReviewRequested]),
        &this_hour(),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let package = package_for_bob(&app, &alice, "prefs/twice").await;

    let senders: Vec<_> = ["sender-a", "sender-b"]
        .into_iter()
        .map(|name| {
            let (pool, mail) = (app.pool.clone(), mail.clone());
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().unwrap();
                let raised =
                    preferences::raise_due_digests(&mut conn, releasedesk::db::now()).unwrap();
                while notify::send_one(&mut conn, &mail, name).unwrap() {}
                raised
            })
        })
        .collect();
    let mut raised = 0;
    for s in senders {
        raised += s.await.unwrap();
    }
    assert_eq!(raised, 1, "one digest raised between them");
    // Later the same day: still the one.
    let again = app
        .db(|c| preferences::raise_due_digests(c, releasedesk::db::now()).unwrap())
        .await;
    assert_eq!(again, 0);
    let got = smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = if got.len() == 1 { smtp.messages() } else { got };
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].subject.contains("Daily digest:"),
        "{}",
        got[0].subject
    );
    let link = format!("{}{}", app.base, paths::package("demo", package));
    assert!(got[0].text.contains(&link), "{}", got[0].text);
    let bob_id = id_of(&app, "bob").await;
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await;
    let rows = app.db(move |c| notifications::list(c, ws).unwrap()).await;
    let digests: Vec<_> = rows
        .iter()
        .filter(|d| d.kind == NotificationKind::Digest)
        .collect();
    assert_eq!(digests.len(), 1, "{rows:?}");
    assert_eq!(
        digests[0].delivery_id,
        preferences::digest_delivery_id(bob_id, chrono::Utc::now().date_naive())
    );
    assert_eq!(digests[0].status, DeliveryStatus::Sent);
}

async fn a_digest_with_nothing_waiting_is_skipped_with_its_reason(app: TestApp) {
    let app = app.with_demo().await;
    let smtp = SmtpServer::started();
    let mail = mail_for(&smtp, &app);
    // Victor, a viewer, reviews nothing and is named on no checkpoint.
    let victor = app.signed_in("victor").await;
    let saved = save_settings(&victor, &defaults_with(&[], &[]), &this_hour()).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let raised = app
        .db(|c| preferences::raise_due_digests(c, releasedesk::db::now()).unwrap())
        .await;
    assert_eq!(raised, 1);
    send_all(&app, &mail, "sender").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.messages().is_empty(), "{:#?}", smtp.messages());
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await;
    let rows = app.db(move |c| notifications::list(c, ws).unwrap()).await;
    let digest = rows
        .iter()
        .find(|d| d.kind == NotificationKind::Digest)
        .expect("a digest row");
    assert_eq!(digest.status, DeliveryStatus::Skipped);
    assert!(
        digest.last_error.contains("nothing waits"),
        "{}",
        digest.last_error
    );
}

on_both_backends!(
    the_page_lists_every_kind_with_its_default_and_keeps_choices,
    an_address_is_validated_audited_and_cleared,
    someone_who_opted_out_gets_no_message_and_an_opt_in_is_honoured,
    the_test_email_reaches_the_person_once_per_interval,
    the_test_email_says_why_it_cannot_go,
    a_digest_lists_what_still_waits_and_not_what_was_decided,
    two_senders_raise_and_send_one_digest_a_day,
    a_digest_with_nothing_waiting_is_skipped_with_its_reason,
);
