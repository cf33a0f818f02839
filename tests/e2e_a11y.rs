//! Accessibility: axe-core (vendored in `tests/vendor/axe.min.js`, a test tool the app never
//! serves) runs inside headless Chromium on every kind of page, as each role sees it, at
//! 1280×800 and 390×844; any serious or critical violation fails with its page, rule and
//! targets. Also by hand: the confirm dialog keeps focus inside and hands it back on close, and
//! toasts sit in a live region.

mod support;

use std::time::Duration;

use fantoccini::actions::InputSource;
use fantoccini::{Client, Locator};
use releasedesk::paths;
use serde_json::{Value, json};
use support::TestApp;
use support::browser::*;

in_the_browser!(
    no_serious_axe_violation_on_any_page,
    the_confirm_dialog_traps_and_returns_focus,
    the_layout_fits_a_laptop_and_a_phone,
);

const AXE: &str = include_str!("vendor/axe.min.js");

/// Serious and critical violations on the current page, one line each.
async fn axe_violations(client: &Client, page: &str) -> Vec<String> {
    client.execute(AXE, vec![]).await.expect("inject axe");
    let found = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                             targets: v.nodes.map(n => n.target.join(' ')) }))))
              .catch(e => done({ error: String(e) }));"#,
            vec![],
        )
        .await
        .expect("run axe");
    if let Some(err) = found.get("error") {
        panic!("axe failed on {page}: {err}");
    }
    found
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            let targets: Vec<&str> = v["targets"]
                .as_array()
                .unwrap()
                .iter()
                .take(8)
                .filter_map(Value::as_str)
                .collect();
            format!(
                "{page}: [{}] {} ({}) at {}",
                v["impact"].as_str().unwrap_or(""),
                v["id"].as_str().unwrap_or(""),
                v["help"].as_str().unwrap_or(""),
                targets.join(" | ")
            )
        })
        .collect()
}

/// The `href` of the first element matching `css` on the current page.
async fn first_href(client: &Client, css: &str) -> Option<String> {
    let v = client
        .execute(
            "const a = document.querySelector(arguments[0]); return a ? a.getAttribute('href') : null;",
            vec![json!(css)],
        )
        .await
        .unwrap();
    v.as_str().map(str::to_owned)
}

/// Every `href` matching `css` on the current page (deduplicated, in order).
async fn all_hrefs(client: &Client, css: &str) -> Vec<String> {
    let v = client
        .execute(
            "return [...new Set([...document.querySelectorAll(arguments[0])].map(a => a.getAttribute('href')))];",
            vec![json!(css)],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h.as_str().map(str::to_owned))
        .collect()
}

async fn visit(client: &Client, app: &TestApp, path: &str, out: &mut Vec<String>, tag: &str) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        app.url(path)
    };
    client.goto(&url).await.unwrap();
    wait_css(client, "main").await;
    // htmx-loaded parts (lazy diffs, polled progress) settle first.
    tokio::time::sleep(Duration::from_millis(150)).await;
    out.extend(axe_violations(client, &format!("{tag} {path}")).await);
    // Each kind of dialog the page opens, checked while open.
    let dialogs = client
        .execute(
            "return [...new Set([...document.querySelectorAll('[data-dialog-open]')].filter(b => b.getClientRects().length).map(b => b.getAttribute('data-dialog-open')))].slice(0, 3);",
            vec![],
        )
        .await
        .unwrap();
    for id in dialogs.as_array().unwrap().iter().filter_map(Value::as_str) {
        let opened = client
            .execute(
                "const b = document.querySelector(`[data-dialog-open=\"${arguments[0]}\"]`); b.click(); return document.getElementById(arguments[0]).open;",
                vec![json!(id)],
            )
            .await
            .unwrap();
        assert_eq!(opened, json!(true), "{path}: dialog {id} opens");
        // Past the 0.15 s fade-in, or axe measures contrast through the half-opaque dialog.
        tokio::time::sleep(Duration::from_millis(300)).await;
        out.extend(axe_violations(client, &format!("{tag} {path} (dialog {id})")).await);
        client
            .execute(
                "document.getElementById(arguments[0]).close();",
                vec![json!(id)],
            )
            .await
            .unwrap();
    }
    *PAGES
        .lock()
        .unwrap()
        .get_or_insert_default()
        .entry(app.base.clone())
        .or_default() += 1;
}

/// Pages checked, per app (the two backends' tests run side by side).
static PAGES: std::sync::Mutex<Option<std::collections::HashMap<String, usize>>> =
    std::sync::Mutex::new(None);

/// The pages a role sees: the fixed ones plus the first item of each list.
async fn pages_of(client: &Client, app: &TestApp, who: &str, out: &mut Vec<String>, tag: &str) {
    let tag = format!("{tag} {who}");
    let ws = "/workspaces/demo";
    for path in [
        "/workspaces".to_owned(),
        ws.to_owned(),
        format!("{ws}/task-release/tasks"),
        format!("{ws}/task-release/packages"),
        format!("{ws}/production"),
        "/reviews".to_owned(),
        format!("{ws}/scripts"),
        format!("{ws}/region-release/tasks"),
        format!("{ws}/regions"),
        format!("{ws}/components"),
        "/account".to_owned(),
        format!("{ws}/no-such-page"),
    ] {
        visit(client, app, &path, out, &tag).await;
    }
    client
        .goto(&app.url(&format!("{ws}/task-release/packages")))
        .await
        .unwrap();
    let packages = all_hrefs(client, "td a[href*='/task-release/packages/']").await;
    for p in packages.iter().take(3) {
        visit(client, app, p, out, &tag).await;
    }
    client
        .goto(&app.url(&format!("{ws}/task-release/tasks")))
        .await
        .unwrap();
    if let Some(t) = first_href(client, "td a[href*='/task-release/tasks/']").await {
        visit(client, app, &t, out, &tag).await;
    }
    client
        .goto(&app.url(&format!("{ws}/scripts")))
        .await
        .unwrap();
    if let Some(s) = first_href(client, "td a[href*='/scripts/']").await {
        visit(client, app, &s, out, &tag).await;
    }
    client
        .goto(&app.url(&format!("{ws}/region-release/tasks")))
        .await
        .unwrap();
    let tasks = all_hrefs(
        client,
        "td a[href*='/region-release/tasks/']:not([href*='?'])",
    )
    .await;
    for t in tasks.iter().take(6) {
        visit(client, app, t, out, &tag).await;
        visit(client, app, &format!("{t}?tab=history"), out, &tag).await;
    }
    if let Some(t) = tasks.first() {
        visit(client, app, &format!("{t}?tab=info"), out, &tag).await;
    }
    client
        .goto(&app.url(&format!("{ws}/regions")))
        .await
        .unwrap();
    if let Some(r) = first_href(client, "td a[href*='/regions/']").await {
        visit(client, app, &r, out, &tag).await;
    }
}

async fn every_page(client: &Client, app: &TestApp, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    client.goto(&app.url("/login")).await.unwrap();
    wait_css(client, "#username").await;
    out.extend(axe_violations(client, &format!("{tag} /login")).await);

    sign_in(client, app, "carol").await;
    pages_of(client, app, "carol", &mut out, tag).await;
    let ws = "/workspaces/demo";
    for path in [
        format!("{ws}/settings"),
        format!("{ws}/settings/notifications"),
        format!("{ws}/deliveries"),
        format!("{ws}/freezes"),
        format!("{ws}/audit"),
        format!("{ws}/insights"),
        format!("{ws}/scripts/import"),
        format!("{ws}/region-release/tasks/new"),
    ] {
        visit(client, app, &path, &mut out, &format!("{tag} carol")).await;
    }
    sign_out(client).await;

    sign_in(client, app, "alice").await;
    pages_of(client, app, "alice", &mut out, tag).await;
    sign_out(client).await;

    sign_in(client, app, "victor").await;
    pages_of(client, app, "victor", &mut out, tag).await;
    sign_out(client).await;

    sign_in(client, app, "tara").await;
    for path in ["/admin/users", "/admin/tokens", "/workspaces", "/account"] {
        visit(client, app, path, &mut out, &format!("{tag} tara")).await;
    }
    sign_out(client).await;
    out
}

async fn no_serious_axe_violation_on_any_page(app: TestApp) {
    let (_driver, client) = start_browser().await;
    client.set_window_size(1280, 800).await.unwrap();
    let mut found = every_page(&client, &app, "1280").await;
    client.set_window_size(390, 844).await.unwrap();
    found.extend(every_page(&client, &app, "390").await);
    let pages = PAGES.lock().unwrap().as_ref().unwrap()[&app.base];
    assert!(pages > 80, "only {pages} pages were checked");
    found.dedup();
    assert!(
        found.is_empty(),
        "{} serious/critical axe violation(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The element that has focus, as `tag#id.class` text.
async fn focused(client: &Client) -> String {
    client
        .execute(
            "const e = document.activeElement; return e ? (e.tagName + '#' + e.id + ' ' + (e.getAttribute('data-testid') || e.textContent.trim().slice(0, 40))) : '';",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_owned()
}

async fn focus_inside(client: &Client, css: &str) -> bool {
    client
        .execute(
            "const d = document.querySelector(arguments[0]); return !!d && d.contains(document.activeElement);",
            vec![json!(css)],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

/// The confirm dialog (removing a member) takes focus, keeps Tab and Shift+Tab inside, and hands
/// focus back to the button that opened it when cancelled with Escape.
async fn the_confirm_dialog_traps_and_returns_focus(app: TestApp) {
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app, "carol").await;
    client
        .goto(&app.url(&paths::settings("demo")))
        .await
        .unwrap();
    let opener = wait_css(
        &client,
        "#member-table tr[data-user=victor] form[data-confirm] button",
    )
    .await;
    client
        .execute(
            "document.querySelector(\"#member-table tr[data-user=victor] form[data-confirm] button\").id = 'the-opener';",
            vec![],
        )
        .await
        .unwrap();
    opener.click().await.unwrap();
    wait_text(
        &client,
        "#confirm-dialog [data-confirm-message]",
        "Remove victor",
    )
    .await;
    assert!(
        focus_inside(&client, "#confirm-dialog").await,
        "focus moves into the dialog: {}",
        focused(&client).await
    );
    // The live region exists before any toast, so screen readers announce toasts.
    assert!(
        client.find(Locator::Css("[aria-live]")).await.is_ok(),
        "a live region for status messages"
    );
    for _ in 0..6 {
        client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{e004}")
            .await
            .unwrap();
        assert!(
            focus_inside(&client, "#confirm-dialog").await,
            "Tab stays in the dialog: {}",
            focused(&client).await
        );
    }
    for _ in 0..6 {
        let shift_tab = fantoccini::actions::KeyActions::new("kbd".into())
            .then(fantoccini::actions::KeyAction::Down { value: '\u{e008}' })
            .then(fantoccini::actions::KeyAction::Down { value: '\u{e004}' })
            .then(fantoccini::actions::KeyAction::Up { value: '\u{e004}' })
            .then(fantoccini::actions::KeyAction::Up { value: '\u{e008}' });
        client.perform_actions(shift_tab).await.unwrap();
        assert!(
            focus_inside(&client, "#confirm-dialog").await,
            "Shift+Tab stays in the dialog: {}",
            focused(&client).await
        );
    }
    client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{e00c}")
        .await
        .unwrap();
    for _ in 0..50 {
        if focused(&client).await.starts_with("BUTTON#the-opener") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        focused(&client).await.starts_with("BUTTON#the-opener"),
        "focus returns to the opener: {}",
        focused(&client).await
    );
    let open = client
        .execute(
            "return document.querySelector('#confirm-dialog').open;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(open, json!(false), "Escape closes the dialog");
}

async fn js_f64(client: &Client, script: &str) -> f64 {
    client
        .execute(script, vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or_else(|| panic!("a number from {script}"))
}

/// Screenshots of the main pages at 1280×800 and 390×844 (`target/screenshots/layout-*`), and
/// the layout facts of issue 25, item 15 that can be measured.
async fn the_layout_fits_a_laptop_and_a_phone(app: TestApp) {
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app, "carol").await;
    let ws = "/workspaces/demo";
    client
        .goto(&app.url(&format!("{ws}/task-release/packages")))
        .await
        .unwrap();
    let package = first_href(&client, "td a[href*='/task-release/packages/']")
        .await
        .unwrap();
    client
        .goto(&app.url(&format!("{ws}/scripts")))
        .await
        .unwrap();
    let script = first_href(&client, "td a[href*='/scripts/']")
        .await
        .unwrap();
    client
        .goto(&app.url(&format!("{ws}/region-release/tasks")))
        .await
        .unwrap();
    let region_task = all_hrefs(
        &client,
        "td a[href*='/region-release/tasks/']:not([href*='?'])",
    )
    .await
    .last()
    .cloned()
    .unwrap();
    let pages = [
        ("tasks", format!("{ws}/task-release/tasks")),
        ("packages", format!("{ws}/task-release/packages")),
        ("package", package),
        ("script", script),
        ("production", format!("{ws}/production")),
        ("region-tasks", format!("{ws}/region-release/tasks")),
        ("history", format!("{region_task}?tab=history")),
        ("reviews", "/reviews".to_owned()),
        ("settings", format!("{ws}/settings")),
        (
            "bad-request",
            format!("{ws}/task-release/tasks?status=bogus"),
        ),
    ];
    for (w, h) in [(1280, 800), (390, 844)] {
        client.set_window_size(w, h).await.unwrap();
        for (name, path) in &pages {
            client.goto(&app.url(path)).await.unwrap();
            wait_css(&client, "main").await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            screenshot(&client, &format!("layout-{w}-{name}")).await;
            let scrolled = client
                .execute(
                    "const t = document.querySelector('main table.data'); if (t) { t.scrollIntoView(); return window.scrollY > 0; } return false;",
                    vec![],
                )
                .await
                .unwrap();
            if scrolled == json!(true) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                screenshot(&client, &format!("layout-{w}-{name}-table")).await;
                client
                    .execute("window.scrollTo(0, 0);", vec![])
                    .await
                    .unwrap();
            }
            if w == 390 {
                let wide = js_f64(
                    &client,
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                )
                .await;
                assert!(
                    wide <= 0.0,
                    "{name}: the page scrolls sideways by {wide}px on a phone"
                );
            }
            let rows = js_f64(
                &client,
                "return new Set([...document.querySelectorAll('nav.subnav a')].map(a => a.offsetTop)).size;",
            )
            .await;
            assert!(
                rows <= 1.0,
                "{w} {name}: the workspace navigation is one row"
            );
            if w == 390 {
                let top = js_f64(
                    &client,
                    "return document.querySelector('main').getBoundingClientRect().top;",
                )
                .await;
                assert!(top < 140.0, "{name}: header and navigation take {top}px");
            }
            if *name == "packages" {
                let open = client
                    .execute(
                        "return document.querySelector('details.filter-more').open;",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(
                    open,
                    json!(w > 760),
                    "{w}: the filters are collapsed on a phone only"
                );
            }
            if *name == "script" {
                let title = js_f64(
                    &client,
                    "return parseFloat(getComputedStyle(document.querySelector('h1')).fontSize);",
                )
                .await;
                let sub = js_f64(&client, "return parseFloat(getComputedStyle(document.querySelector('.subtitle')).fontSize);").await;
                assert!(
                    title > sub,
                    "{w}: the script's title ({title}px) is larger than its subtitle ({sub}px)"
                );
            }
        }
    }
}
