//! The overview's "Needs your attention" card in the browser, as carol (things wait for her)
//! and as alice (her things are stuck), at 1280×800 and 390×844: screenshots for a look, and
//! the card stays within the page's width.

mod support;

use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(the_attention_card_as_carol_and_alice);

async fn the_attention_card_as_carol_and_alice(app: TestApp) {
    let (_driver, client) = start_browser().await;
    for user in ["carol", "alice"] {
        sign_in(&client, &app, user).await;
        for (w, h) in [(1280, 800), (390, 844)] {
            client.set_window_size(w, h).await.unwrap();
            client
                .goto(&app.url(&paths::workspace("demo")))
                .await
                .unwrap();
            wait_text(&client, "#attention h2", "Needs your attention").await;
            let overflow = client
                .execute(
                    "const c = document.getElementById('attention'); \
                     return c.scrollWidth > c.clientWidth + 1 \
                         || document.documentElement.scrollWidth > window.innerWidth + 1;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(overflow, serde_json::Value::Bool(false), "{user} at {w}px");
            screenshot(&client, &format!("attention-{user}-{w}")).await;
        }
        sign_out(&client).await;
    }
    client.close().await.unwrap();
}
