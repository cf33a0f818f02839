//! The region step builder without JavaScript (issue 25, item 12): the Add, Remove, Up and Down
//! buttons post the form and the server edits the list of steps, keeping what was typed;
//! errors are said on the card of the step they concern. On SQLite and PostgreSQL.

mod support;

use support::{Client, Resp, TestApp};

on_both_backends!(
    the_server_adds_removes_and_moves_steps,
    errors_are_shown_on_the_step_they_concern,
);

const NEW: &str = "/workspaces/demo/region-release/tasks";

/// The `value` of the option labelled `label` among `select` options on the new-task form.
async fn option(client: &Client, select: &str, label: &str) -> String {
    let page = client.get(&format!("{NEW}/new")).await;
    let html = page.html();
    let sel = scraper::Selector::parse(select).unwrap();
    html.select(&sel)
        .find(|e| e.text().collect::<String>().contains(label))
        .and_then(|e| {
            e.value().attr("value").map(str::to_owned).or_else(|| {
                let input = scraper::Selector::parse("input").unwrap();
                e.select(&input)
                    .next()
                    .and_then(|i| i.value().attr("value"))
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| panic!("no {label} in {select}"))
}

fn count(page: &Resp, css: &str) -> usize {
    let sel = scraper::Selector::parse(css).unwrap();
    page.html().select(&sel).count()
}

fn kinds(page: &Resp) -> Vec<String> {
    (0..count(page, "[data-step-list] > [data-step]"))
        .map(|i| {
            page.value(&format!("#s{i}-kind option[selected]"))
                .unwrap_or_default()
        })
        .collect()
}

struct Ids {
    us: String,
    notify: String,
    carol: String,
}

async fn ids(bob: &Client) -> Ids {
    Ids {
        us: option(bob, "#s0-region option", "us-east-1").await,
        notify: option(bob, "#s0-card label[data-picker-option]", "notification-gw").await,
        carol: option(bob, "#s0-card label[data-picker-option]", "carol").await,
    }
}

async fn the_server_adds_removes_and_moves_steps(app: TestApp) {
    let app = app.with_demo().await;
    let bob = app.signed_in("bob").await;
    let new = bob.get(&format!("{NEW}/new")).await;
    assert_eq!(
        kinds(&new),
        ["deploy"],
        "a new task starts with one deploy step"
    );
    assert!(new.has("template[data-step-template]"));
    let ids = ids(&bob).await;

    // Add a Manual Approval: the deploy step keeps its region and components.
    let deploy = [
        ("name", "Notify us-east-1"),
        ("operation", "deploy"),
        ("step0_kind", "deploy"),
        ("step0_region", ids.us.as_str()),
        ("step0_components", ids.notify.as_str()),
    ];
    let mut fields = deploy.to_vec();
    fields.extend([("rows", "1"), ("add", "approval")]);
    let added = bob.post(NEW, &fields).await;
    assert_eq!(added.status, 200);
    assert_eq!(kinds(&added), ["deploy", "approval"]);
    assert_eq!(added.value("input[name=rows]").as_deref(), Some("2"));
    assert_eq!(added.value("#t-name").as_deref(), Some("Notify us-east-1"));
    assert_eq!(
        added.value("#s0-region option[selected]").as_deref(),
        Some(ids.us.as_str())
    );
    assert_eq!(count(&added, "input[name=step0_components][checked]"), 1);
    assert!(!added.has("#steps-error"), "adding is not an error");
    assert_eq!(
        count(
            &added,
            "[data-step-list] #s0-card [data-step-move=up][disabled]"
        ),
        1
    );
    assert_eq!(count(&added, "#s1-card [data-step-move=down][disabled]"), 1);

    // Move the approval up: its person goes with it, and the names follow the order.
    let mut fields = deploy.to_vec();
    fields.extend([
        ("rows", "2"),
        ("step1_kind", "approval"),
        ("step1_people", ids.carol.as_str()),
        ("move_up", "1"),
    ]);
    let moved = bob.post(NEW, &fields).await;
    assert_eq!(moved.status, 200);
    assert_eq!(kinds(&moved), ["approval", "deploy"]);
    assert_eq!(
        moved.value("input[name=step0_people][checked]").as_deref(),
        Some(ids.carol.as_str())
    );
    assert_eq!(
        moved.value("#s1-region option[selected]").as_deref(),
        Some(ids.us.as_str())
    );
    assert_eq!(moved.texts("#s1-card [data-step-title]"), ["Step 2"]);

    // Down and Remove; indices out of range or not numbers change nothing.
    let two = [
        ("name", "Notify us-east-1"),
        ("operation", "deploy"),
        ("rows", "2"),
        ("step0_kind", "approval"),
        ("step0_people", ids.carol.as_str()),
        ("step1_kind", "deploy"),
        ("step1_region", ids.us.as_str()),
        ("step1_components", ids.notify.as_str()),
    ];
    for (button, value, expect) in [
        ("move_down", "0", vec!["deploy", "approval"]),
        ("move_down", "1", vec!["approval", "deploy"]),
        ("move_up", "0", vec!["approval", "deploy"]),
        ("move_up", "99", vec!["approval", "deploy"]),
        ("remove", "abc", vec!["approval", "deploy"]),
        ("remove", "-1", vec!["approval", "deploy"]),
        ("remove", "0", vec!["deploy"]),
        ("remove", "1", vec!["approval"]),
        ("add", "nonsense", vec!["approval", "deploy", "deploy"]),
    ] {
        let mut fields = two.to_vec();
        fields.push((button, value));
        let page = bob.post(NEW, &fields).await;
        assert_eq!(page.status, 200, "{button}={value}");
        assert_eq!(kinds(&page), expect, "{button}={value}");
    }

    // The older fixed-row form: rows without a type are left out, "More steps" adds one.
    let old = bob
        .post(
            NEW,
            &[
                ("name", "Old form"),
                ("operation", "deploy"),
                ("rows", "6"),
                ("step0_kind", ""),
                ("step1_kind", "approval"),
                ("step1_people", ids.carol.as_str()),
                ("step2_kind", ""),
                ("more", "1"),
            ],
        )
        .await;
    assert_eq!(old.status, 200);
    assert_eq!(kinds(&old), ["approval", "deploy"]);

    // Saved in the order shown.
    let mut fields = two.to_vec();
    fields.truncate(2);
    fields.extend([
        ("rows", "3"),
        ("step0_kind", "deploy"),
        ("step0_region", ids.us.as_str()),
        ("step0_components", ids.notify.as_str()),
        ("step1_kind", ""),
        ("step2_kind", "approval"),
        ("step2_people", ids.carol.as_str()),
    ]);
    let saved = bob.post(NEW, &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let task = bob.get(saved.location().unwrap()).await;
    assert!(task.texts("#step-1")[0].contains("Deploy"));
    assert!(task.texts("#step-2")[0].contains("Manual Approval"));
    assert!(!task.has("#step-3"));
    let edit = bob
        .get(&format!("{}/edit", saved.location().unwrap()))
        .await;
    assert_eq!(kinds(&edit), ["deploy", "approval"]);
    assert_eq!(count(&edit, "input[name=step1_people][checked]"), 1);
}

async fn errors_are_shown_on_the_step_they_concern(app: TestApp) {
    let app = app.with_demo().await;
    let bob = app.signed_in("bob").await;
    let ids = ids(&bob).await;
    // Every card's missing parts at once, on its card, with the input kept.
    let page = bob
        .post(
            NEW,
            &[
                ("name", "Half done"),
                ("operation", "deploy"),
                ("rows", "3"),
                ("step0_kind", "deploy"),
                ("step0_region", ids.us.as_str()),
                ("step0_components", ids.notify.as_str()),
                ("step1_kind", "approval"),
                ("step2_kind", "deploy"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(!page.has("#s0-error"));
    assert!(page.texts("#s1-error")[0].contains("Name at least one person"));
    let third = &page.texts("#s2-error")[0];
    assert!(third.contains("Choose the region") && third.contains("at least one component"));
    assert_eq!(count(&page, "li.step-edit-invalid"), 2);
    let summary = &page.texts("#steps-error")[0];
    assert!(
        summary.contains("Step 2:") && summary.contains("Step 3:"),
        "{summary}"
    );
    assert_eq!(page.value("#t-name").as_deref(), Some("Half done"));
    assert_eq!(count(&page, "input[name=step0_components][checked]"), 1);

    // A data-layer refusal naming a step is put on that card too.
    let page = bob
        .post(
            NEW,
            &[
                ("name", "Wrong operation"),
                ("operation", "upgrade"),
                ("rows", "2"),
                ("step0_kind", "approval"),
                ("step0_people", ids.carol.as_str()),
                ("step1_kind", "deploy"),
                ("step1_region", ids.us.as_str()),
                ("step1_components", ids.notify.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.texts("#steps-error")[0].contains("use Bulk Deploy"));
    assert!(
        page.texts("#s1-error")[0].contains("Step 2: notification-gw does not run in us-east-1")
    );
    assert!(!page.has("#s0-error"));
}
