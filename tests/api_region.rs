//! Region Release through the API as a pipeline drives it: read the regions, create a task with
//! a Manual Approval between two regions, Execute, wait at the checkpoint, have a named
//! person's token agree (the executor's is refused), wait for *released*, roll back. The
//! checkpoint rules hold as on the page.

mod support;

use std::time::{Duration, Instant};

use releasedesk::domain::TokenScope;
use serde_json::{Value, json};
use support::TestApp;
use support::api::{Api, token};

/// Waits (with `?wait=`) until `done` holds for the task, or fails after a minute.
async fn wait_for(api: &Api, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = api
            .get(&format!("/workspaces/demo/region-tasks/{id}?wait=10s"))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        if done(&a.json) {
            return a.json;
        }
        assert!(Instant::now() < deadline, "timed out: {}", a.text);
    }
}

async fn a_pipeline_rolls_out_through_a_checkpoint_and_back(app: TestApp) {
    let app = app.with_demo().await;
    let bob = Api::new(&app, Some(&token(&app, "bob", TokenScope::Write).await));
    let carol = Api::new(&app, Some(&token(&app, "carol", TokenScope::Write).await));

    let regions = bob.get("/workspaces/demo/regions").await;
    assert_eq!(regions.status, 200, "{}", regions.text);
    assert!(!regions.text.contains("secret"), "{}", regions.text);
    let by_name = |name: &str| -> &Value {
        regions.json["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
    };
    let (eu, us) = (by_name("eu-west-1"), by_name("us-east-1"));
    let runs = |region: &Value, component: i64| {
        region["running"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["component_id"] == component)
    };
    // A component running in neither region, deployed; or in both, upgraded.
    let (component, operation) = regions.json["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .find_map(|c| match (runs(eu, c), runs(us, c)) {
            (false, false) => Some((c, "deploy")),
            (true, true) => Some((c, "upgrade")),
            _ => None,
        })
        .expect("a component that fits");

    let created = bob
        .post(
            "/workspaces/demo/region-tasks",
            &json!({
                "name": "pipeline rollout",
                "operation": operation,
                "steps": [
                    {"kind": "deploy", "region_id": eu["id"], "component_ids": [component]},
                    {"kind": "approval", "people": ["carol", "bob"]},
                    {"kind": "deploy", "region_id": us["id"], "component_ids": [component]},
                ],
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["status"], "to_release");
    let id = created.json["id"].as_i64().unwrap();
    let checkpoint = created.json["steps"][1]["id"].as_i64().unwrap();

    // A viewer's token cannot execute; a bad body is refused, not read as "from the start".
    let victor = Api::new(&app, Some(&token(&app, "victor", TokenScope::Write).await));
    let refused = victor
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/execute"),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let garbled = bob
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/execute"),
            &json!({"start": "first"}),
        )
        .await;
    assert_eq!(garbled.status, 400, "{}", garbled.text);
    let empty = bob
        .send(
            "POST",
            &format!("/workspaces/demo/region-tasks/{id}/execute"),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(
        empty.status, 200,
        "no body starts where the rules allow: {}",
        empty.text
    );
    let waiting = wait_for(&bob, id, |t| t["steps"][1]["status"] == "waiting").await;
    assert_eq!(waiting["steps"][0]["status"], "succeeded");

    // Starting past the undecided checkpoint is refused.
    let skip = bob
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/execute"),
            &json!({"start": 3}),
        )
        .await;
    assert!(matches!(skip.status, 403 | 409), "{}", skip.text);

    // The executor (bob) is named but may not agree to a Manual Approval; carol may.
    let own = bob
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/steps/{checkpoint}/decision"),
            &json!({"decision": "agree"}),
        )
        .await;
    assert_eq!(own.status, 403, "{}", own.text);
    let agreed = carol
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/steps/{checkpoint}/decision"),
            &json!({"decision": "agree", "comment": "eu looks healthy"}),
        )
        .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    let released = wait_for(&bob, id, |t| t["settled"] == true).await;
    assert_eq!(released["status"], "released", "{released}");
    assert_eq!(released["steps"][1]["comments"][0]["username"], "carol");

    // Roll back, with a reason; Release History shows both runs.
    let no_reason = bob
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/rollback"),
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.text);
    let rolling = bob
        .post(
            &format!("/workspaces/demo/region-tasks/{id}/rollback"),
            &json!({"reason": "pipeline asked"}),
        )
        .await;
    assert_eq!(rolling.status, 200, "{}", rolling.text);
    let back = wait_for(&bob, id, |t| t["settled"] == true).await;
    assert_eq!(back["status"], "rolled_back", "{back}");
    let kinds: Vec<&str> = back["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rollback", "release"]);

    let listed = bob
        .get("/workspaces/demo/region-tasks?q=pipeline&status=rolled_back")
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["items"][0]["id"], id);
}

on_both_backends!(a_pipeline_rolls_out_through_a_checkpoint_and_back);
