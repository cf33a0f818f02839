//! Personal access tokens as people handle them: created on the Account page (the secret shown
//! once), refused input re-rendered per field, revoked by their owner or a tenant
//! administrator and by nobody else, the tenant administrators' list, the audit rows (never the
//! secret), and a deactivated user's token refused at once. The command line's `token create`
//! is in `tests/cli.rs`.

mod support;

use diesel::prelude::*;
use releasedesk::db::models::{tokens, users};
use releasedesk::db::schema::{api_tokens, audit_log};
use releasedesk::domain::token::{DEFAULT_DAYS, looks_like_secret, secret_hash};
use releasedesk::domain::{TokenId, UserId};
use releasedesk::paths;
use support::{Resp, TestApp};

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

/// The ids of the token rows a page lists, in order.
fn listed(resp: &Resp) -> Vec<TokenId> {
    let sel = scraper::Selector::parse("tr[data-token]").unwrap();
    resp.html()
        .select(&sel)
        .map(|tr| TokenId(tr.value().attr("data-token").unwrap().parse().unwrap()))
        .collect()
}

/// The secret a creation page shows.
fn secret_on(resp: &Resp) -> String {
    let shown = resp.texts("code#new-token");
    assert_eq!(shown.len(), 1, "one secret on the page: {}", resp.body);
    shown[0].clone()
}

/// Who `secret` stands for, through the data layer the API uses.
async fn holder(app: &TestApp, secret: &str) -> Option<String> {
    let secret = secret.to_owned();
    app.db(move |c| {
        tokens::authenticate(c, &secret, "127.0.0.1")
            .unwrap()
            .map(|(user, _, _)| user.username)
    })
    .await
}

async fn a_new_token_shows_its_secret_once(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;

    let form = alice.get(paths::account()).await;
    assert_eq!(form.value("#token-days").as_deref(), Some("90"));
    assert!(
        form.has("input[name=scope][value=read][checked]"),
        "read by default"
    );
    assert!(!form.has("#new-token"));
    assert_eq!(
        form.texts("#tokens-list tr.empty"),
        ["You have no access tokens."]
    );

    let created = alice.create_token("deploy pipeline", "30", "write").await;
    assert_eq!(created.status, 200, "the page itself, not a redirect");
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let secret = secret_on(&created);
    assert!(looks_like_secret(&secret), "{secret}");
    assert!(
        created.texts(".token-secret")[0].contains("you will not see it again"),
        "the copy hint"
    );
    let prefix = format!("{}…", &secret[..9]);
    assert_eq!(
        created.texts("#tokens-list tbody td:nth-child(2)"),
        [prefix.as_str()]
    );
    assert_eq!(
        created.texts("#tokens-list tbody td:nth-child(3)"),
        ["write"]
    );
    assert_eq!(
        created.texts("#tokens-list tbody td:nth-child(6)"),
        ["never"]
    );
    assert_eq!(
        created.value("#token-name").as_deref(),
        Some(""),
        "the form is blank again"
    );

    // Never again: not on the next page, not in the row, not in the database.
    let later = alice.get(paths::account()).await;
    assert!(!later.has("#new-token"));
    assert!(!later.body.contains(&secret));
    assert_eq!(
        later.texts("#tokens-list tbody td:nth-child(2)"),
        [prefix.as_str()]
    );
    let secret_in_db = secret.clone();
    let (hash, expires_in) = app
        .db(move |c| {
            let (hash, created, expires) = api_tokens::table
                .select((
                    api_tokens::token_hash,
                    api_tokens::created_at,
                    api_tokens::expires_at,
                ))
                .first::<(String, chrono::NaiveDateTime, chrono::NaiveDateTime)>(c)
                .unwrap();
            let rows_holding_it = api_tokens::table
                .filter(
                    api_tokens::token_hash
                        .eq(&secret_in_db)
                        .or(api_tokens::token_prefix.eq(&secret_in_db))
                        .or(api_tokens::name.eq(&secret_in_db)),
                )
                .count()
                .get_result::<i64>(c)
                .unwrap();
            assert_eq!(rows_holding_it, 0);
            (hash, (expires - created).num_days())
        })
        .await;
    assert_eq!(hash, secret_hash(&secret), "only the hash is kept");
    assert_eq!(expires_in, 30);
    assert_eq!(holder(&app, &secret).await.as_deref(), Some("alice"));

    // Left empty, the lifetime is the default; each creation shows only its own secret.
    let second = alice.create_token("nightly report", "", "read").await;
    assert_eq!(second.status, 200);
    let other = secret_on(&second);
    assert_ne!(other, secret);
    assert!(!second.body.contains(&secret));
    assert!(
        second
            .body
            .contains(&format!("{DEFAULT_DAYS} if left empty"))
    );
    assert_eq!(listed(&second).len(), 2);
}

async fn bad_token_input_is_re_rendered_per_field(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let refused = alice.create_token("  ", "366", "admin").await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.texts("#name-error"),
        ["Give the token a name that says where it is used (\"deploy pipeline\")."]
    );
    assert_eq!(
        refused.texts("#expires_in_days-error"),
        ["A token lives 1 to 365 days."]
    );
    assert_eq!(
        refused.texts("#scope-error"),
        ["Choose a scope: read or write."]
    );
    assert_eq!(
        refused.value("#token-days").as_deref(),
        Some("366"),
        "input kept"
    );
    assert!(refused.has("#token-name[aria-invalid=true]"));
    assert!(!refused.has("#new-token"));

    let refused = alice.create_token("ci runner", "zero", "write").await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.value("#token-name").as_deref(), Some("ci runner"));
    assert!(refused.has("input[name=scope][value=write][checked]"));
    assert!(!refused.has("#name-error") && !refused.has("#scope-error"));
    assert_eq!(
        refused.texts("#expires_in_days-error"),
        ["A token lives 1 to 365 days."]
    );

    let long = "x".repeat(61);
    let refused = alice.create_token(&long, "1", "read").await;
    assert_eq!(
        refused.texts("#name-error"),
        ["A token name has at most 60 characters."]
    );
    let none = app
        .db(|c| api_tokens::table.count().get_result::<i64>(c).unwrap())
        .await;
    assert_eq!(none, 0, "nothing was created");
}

async fn owners_revoke_their_tokens(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let created = alice.create_token("laptop", "7", "read").await;
    let secret = secret_on(&created);
    let [id] = listed(&created)[..] else {
        panic!("one token")
    };

    let revoked = alice.revoke_token(id).await;
    assert_eq!(revoked.status, 303);
    let back = format!("{}#tokens", paths::account());
    assert_eq!(revoked.location(), Some(back.as_str()), "back to the list");
    let page = alice.get(paths::account()).await;
    assert_eq!(
        page.texts("#toasts .toast span"),
        ["Token “laptop” revoked. Anything still using it is refused from now on."]
    );
    assert!(listed(&page).is_empty());
    assert_eq!(holder(&app, &secret).await, None, "refused at once");

    // A second click: the page as it is, with why.
    let again = alice.revoke_token(id).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.texts("#toasts .toast span"),
        ["The token “laptop” is already revoked."]
    );
}

async fn another_users_token_is_not_found_and_stays(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let created = alice.create_token("alice's ci", "30", "write").await;
    let secret = secret_on(&created);
    let [id] = listed(&created)[..] else {
        panic!("one token")
    };

    for who in ["bob", "carol", "victor"] {
        let other = app.signed_in(who).await;
        assert_eq!(other.revoke_token(id).await.status, 404, "{who}");
        assert_eq!(other.admin_revoke_token(id).await.status, 403, "{who}");
        assert_eq!(other.get(paths::admin_tokens()).await.status, 403, "{who}");
        let own = other.get(paths::account()).await;
        assert!(listed(&own).is_empty(), "{who} does not see it");
    }
    // Not there at all: the same answer.
    assert_eq!(
        alice.revoke_token(TokenId(id.get() + 1000)).await.status,
        404
    );

    assert_eq!(holder(&app, &secret).await.as_deref(), Some("alice"));
    assert_eq!(listed(&alice.get(paths::account()).await), [id]);
}

async fn tenant_admins_see_and_revoke_anyones_tokens(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let alices = secret_on(&alice.create_token("alice ci", "30", "write").await);
    let bobs = secret_on(&bob.create_token("bob report", "10", "read").await);
    let tara = app.signed_in("tara").await;

    let users_page = tara.get(paths::admin_users()).await;
    assert!(
        users_page.has(&format!("a[href='{}']", paths::admin_tokens())),
        "linked from the navigation on the users page"
    );
    let page = tara.get(paths::admin_tokens()).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("nav.nav a[aria-current=page]"), ["Tokens"]);
    assert_eq!(
        page.texts("#tokens tbody td:nth-child(1)"),
        ["bob", "alice"],
        "newest first, with their owners"
    );
    assert_eq!(
        page.texts("#tokens tbody td:nth-child(2)"),
        ["bob report", "alice ci"]
    );
    assert_eq!(
        page.texts("#tokens tbody td:nth-child(3)"),
        [format!("{}…", &bobs[..9]), format!("{}…", &alices[..9])]
    );
    assert_eq!(
        page.texts("#tokens tbody td:nth-child(4)"),
        ["read", "write"]
    );
    assert!(!page.body.contains(&alices) && !page.body.contains(&bobs));

    let ids = listed(&page);
    let revoked = tara.admin_revoke_token(ids[1]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(revoked.location(), Some(paths::admin_tokens()));
    let page = tara.get(paths::admin_tokens()).await;
    assert_eq!(
        page.texts("#toasts .toast span"),
        ["Token “alice ci” revoked."]
    );
    assert_eq!(listed(&page), [ids[0]]);
    assert_eq!(holder(&app, &alices).await, None);
    assert_eq!(holder(&app, &bobs).await.as_deref(), Some("bob"));
    assert!(listed(&alice.get(paths::account()).await).is_empty());

    let again = tara.admin_revoke_token(ids[1]).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.texts("#toasts .toast span"),
        ["The token “alice ci” is already revoked."]
    );
}

/// workspace, actor, action, target id, target label, comment.
type AuditRow = (
    Option<i64>,
    Option<i64>,
    String,
    Option<i64>,
    String,
    String,
);

async fn token_audit_rows_never_hold_the_secret(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let created = alice.create_token("audited", "30", "write").await;
    let secret = secret_on(&created);
    let [id] = listed(&created)[..] else {
        panic!("one token")
    };
    let tara = app.signed_in("tara").await;
    assert_eq!(tara.admin_revoke_token(id).await.status, 303);
    let (alice_id, tara_id) = (id_of(&app, "alice").await, id_of(&app, "tara").await);

    let rows = app
        .db(|c| {
            audit_log::table
                .filter(audit_log::action.like("token.%"))
                .order(audit_log::id)
                .select((
                    audit_log::workspace_id,
                    audit_log::actor_id,
                    audit_log::action,
                    audit_log::target_id,
                    audit_log::target_label,
                    audit_log::comment,
                ))
                .load::<AuditRow>(c)
                .unwrap()
        })
        .await;
    let actions: Vec<_> = rows
        .iter()
        .map(|(ws, actor, action, target, _, _)| (*ws, *actor, action.as_str(), *target))
        .collect();
    assert_eq!(
        actions,
        [
            (None, Some(alice_id.get()), "token.created", Some(id.get())),
            (None, Some(tara_id.get()), "token.revoked", Some(id.get())),
        ],
        "the tenant's audit log, by whom"
    );
    let hash = secret_hash(&secret);
    for (_, _, action, _, label, comment) in &rows {
        assert!(
            label.contains(&secret[..9]),
            "{action} names the prefix: {label}"
        );
        for text in [label, comment] {
            assert!(!text.contains(&secret[3..]), "{action}: {text}");
            assert!(!text.contains(&hash), "{action}: {text}");
        }
    }
    // The users page's recent changes read them in words.
    let recent = tara
        .get(paths::admin_users())
        .await
        .texts("#user-changes li");
    assert!(
        recent[0].contains("tara revoked an access token alice: audited"),
        "{recent:?}"
    );
    assert!(!tara.get(paths::admin_users()).await.body.contains(&secret));
}

async fn a_deactivated_users_tokens_stop_at_once(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let secret = secret_on(&alice.create_token("pipeline", "30", "write").await);
    assert_eq!(holder(&app, &secret).await.as_deref(), Some("alice"));

    let tara = app.signed_in("tara").await;
    let alice_id = id_of(&app, "alice").await;
    let off = tara
        .post(&paths::admin_user_active(alice_id), &[("value", "false")])
        .await;
    assert_eq!(off.status, 303);
    assert_eq!(holder(&app, &secret).await, None, "refused at once");
    // The token is not revoked: the tenant administrator still sees it.
    assert_eq!(listed(&tara.get(paths::admin_tokens()).await).len(), 1);
}

async fn expired_tokens_are_marked_and_refused(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let secret = secret_on(&alice.create_token("short lived", "1", "read").await);
    app.db(|c| {
        diesel::update(api_tokens::table)
            .set(api_tokens::expires_at.eq(releasedesk::db::now() - chrono::Duration::hours(1)))
            .execute(c)
            .unwrap()
    })
    .await;
    let page = alice.get(paths::account()).await;
    assert_eq!(page.texts("#tokens-list td .badge-bad"), ["expired"]);
    assert_eq!(holder(&app, &secret).await, None);
}

on_both_backends!(
    a_new_token_shows_its_secret_once,
    bad_token_input_is_re_rendered_per_field,
    owners_revoke_their_tokens,
    another_users_token_is_not_found_and_stays,
    tenant_admins_see_and_revoke_anyones_tokens,
    token_audit_rows_never_hold_the_secret,
    a_deactivated_users_tokens_stop_at_once,
    expired_tokens_are_marked_and_refused,
);
