//! The link in a notification email, opened in headless Chromium by the person it was sent
//! to: bob's "review requested" link leads through sign-in to the package with his Approve
//! button, and carol's "waiting for you" link to the checkpoint's card with her Agree button.
//! The messages come from a real SMTP server's mailbox (`support::smtp`).

mod support;

use std::time::Duration;

use fantoccini::{Client, Locator};
use releasedesk::db::models::{users, workspaces};
use releasedesk::domain::UserId;
use support::browser::*;
use support::fixtures::gated_rollout;
use support::smtp::{Received, SmtpServer, mailing_demo};
use support::{PASSWORD, TestApp};

in_the_browser!(each_mail_link_opens_its_item_for_its_reader);

/// The one link of `mail` that starts with the app's address.
fn link_in(mail: &Received, base: &str) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.starts_with(base))
        .unwrap_or_else(|| panic!("no link in {}", mail.text))
        .to_owned()
}

/// Opens `link` signed out: the sign-in page, then the item itself.
async fn open_signed_out(client: &Client, link: &str, username: &str) {
    client.goto(link).await.unwrap();
    wait_css(client, "#username")
        .await
        .send_keys(username)
        .await
        .unwrap();
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(client, "button[type=submit]").await;
    wait_css(client, ".user-menu").await;
}

async fn each_mail_link_opens_its_item_for_its_reader(app: TestApp) {
    let smtp = SmtpServer::started();
    let Some(app) = mailing_demo(app, &smtp).await else {
        return;
    };
    let id =
        |name: &'static str| app.db(move |c| users::find_by_username(c, name).unwrap().unwrap().id);
    let (bob, carol): (UserId, UserId) = (id("bob").await, id("carol").await);

    // Alice asks bob to review a package; the mail reaches bob.
    let alice = app.signed_in("alice").await;
    let task = alice.submit_new_script("demo", "mail/link.sql").await;
    let resp = alice.release("demo", &[task], &[bob], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let mails = smtp.wait_for(1).await;
    let review = mails
        .iter()
        .find(|m| m.to == "bob@example.com")
        .expect("bob's review request");
    let link = link_in(review, &app.base);

    let (_driver, client) = start_browser().await;
    open_signed_out(&client, &link, "bob").await;
    let here = client.current_url().await.unwrap();
    assert_eq!(here.as_str(), link, "sign-in returns to the mailed item");
    wait_text(&client, "#decision h2", "Your review").await;
    wait_css(&client, "#decision button[value=approve]").await;
    screenshot(&client, "mail-link-review").await;
    sign_out(&client).await;

    // Bob runs a release through a Manual Approval that names carol; her mail's link opens
    // the step's card with her Agree button.
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await;
    let task = gated_rollout(&app, ws, "Mailed gate", bob, vec![carol]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let gate = loop {
        if let Some(m) = smtp
            .messages()
            .into_iter()
            .find(|m| m.to == "carol@example.com" && m.subject.contains("Waiting for you"))
        {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no mail for carol");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let link = link_in(&gate, &app.base);
    assert!(
        link.ends_with(&format!(
            "{}#step-1",
            releasedesk::paths::region_task("demo", task)
        )),
        "{link}"
    );
    open_signed_out(&client, &link, "carol").await;
    wait_css(&client, "#step-1 button[value=agree]").await;
    let target = client
        .execute("return location.hash", vec![])
        .await
        .unwrap();
    assert_eq!(target, serde_json::json!("#step-1"));
    screenshot(&client, "mail-link-checkpoint").await;
    client.close().await.unwrap();
}
