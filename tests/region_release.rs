//! Region Release through HTTP: regions (drivers, write-only secrets), components (validated
//! configuration) and inventories — on SQLite and PostgreSQL.

mod support;

use support::TestApp;

async fn admins_manage_regions_and_secrets_are_never_shown(app: TestApp) {
    let app = app.with_demo().await;
    let bob = app.signed_in("bob").await;
    assert_eq!(
        bob.post(
            "/workspaces/demo/regions",
            &[("name", "eu-west-1"), ("driver", "inventory")]
        )
        .await
        .status,
        403
    );
    let carol = app.signed_in("carol").await;
    let bad = carol
        .post(
            "/workspaces/demo/regions",
            &[
                ("name", "EU West!"),
                ("driver", "webhook"),
                ("webhook_url", "ftp://x"),
                ("secret", "short"),
                ("timeout_ms", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.texts("#name-error"),
        vec!["Use lowercase letters, digits and dashes, e.g. eu-west-1."]
    );
    assert_eq!(
        bad.texts("#webhook_url-error"),
        vec!["Enter the endpoint's http:// or https:// URL."]
    );
    assert_eq!(
        bad.texts("#secret-error"),
        vec!["A signing secret has 16 to 200 characters."]
    );
    assert!(bad.texts("#timeout_ms-error")[0].contains("100 to 60000"));
    assert_eq!(
        bad.value("#rg-secret"),
        None,
        "a secret is never rendered back"
    );

    let no_secret = carol
        .post(
            "/workspaces/demo/regions",
            &[
                ("name", "us-east-1"),
                ("driver", "webhook"),
                ("webhook_url", "http://127.0.0.1:9/hook"),
            ],
        )
        .await;
    assert_eq!(
        no_secret.texts("#secret-error"),
        vec!["A webhook region needs a signing secret."]
    );
    let secret = "a-very-secret-signing-key";
    let ok = carol
        .post(
            "/workspaces/demo/regions",
            &[
                ("name", "us-east-1"),
                ("display_order", "5"),
                ("driver", "webhook"),
                ("webhook_url", "http://127.0.0.1:9/hook"),
                ("secret", secret),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let page = carol.get(ok.location().unwrap()).await;
    assert!(!page.body.contains(secret), "the secret is not in the page");
    assert!(page.has("#rg-secret[placeholder^=stored]"));
    // Saving without a new secret keeps the stored one.
    let location = ok.location().unwrap().to_owned();
    let saved = carol
        .post(
            &location,
            &[
                ("name", "us-east-1"),
                ("driver", "webhook"),
                ("webhook_url", "http://127.0.0.1:9/hook2"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let dup = carol
        .post(
            "/workspaces/demo/regions",
            &[("name", "us-east-1"), ("driver", "inventory")],
        )
        .await;
    assert_eq!(
        dup.texts("#name-error"),
        vec!["A region named “us-east-1” exists."]
    );
    let list = app
        .signed_in("victor")
        .await
        .get("/workspaces/demo/regions")
        .await;
    assert!(
        list.texts("#regions td a")
            .contains(&"us-east-1".to_owned())
    );
}

async fn components_are_validated(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;
    assert_eq!(
        victor
            .post("/workspaces/demo/components", &[("name", "x")])
            .await
            .status,
        403
    );
    let alice = app.signed_in("alice").await;
    let bad = alice
        .post(
            "/workspaces/demo/components",
            &[
                ("name", "9api"),
                ("artifact", ""),
                ("version", "1 0"),
                ("instances", "-1"),
                ("cpu", "lots"),
                ("memory", "512Mb"),
                ("env", "lower=1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    for field in [
        "name",
        "artifact",
        "version",
        "instances",
        "cpu",
        "memory",
        "env",
    ] {
        assert!(bad.has(&format!("#{field}-error")), "{field}");
    }
    assert_eq!(bad.texts("#c-env"), vec!["lower=1"], "input kept");
    let ok = alice
        .post(
            "/workspaces/demo/components",
            &[
                ("name", "billing-api"),
                ("artifact", "registry.example.com/billing-api"),
                ("version", "2.0.1"),
                ("instances", "3"),
                ("cpu", "0.5"),
                ("memory", "1Gi"),
                ("env", "LOG_LEVEL=info\nREGION=<script>"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let list = alice.get("/workspaces/demo/components").await;
    let row = list
        .texts("#components tbody tr")
        .into_iter()
        .find(|r| r.contains("billing-api"))
        .unwrap();
    assert!(
        row.contains("500m / 1Gi") && row.contains("REGION=<script>"),
        "{row}"
    );
    assert!(!list.body.contains("REGION=<script>"), "escaped in HTML");
}

on_both_backends!(
    admins_manage_regions_and_secrets_are_never_shown,
    components_are_validated
);
