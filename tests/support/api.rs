//! The JSON API as a CI job uses it: a token per user (made through the data layer, as the
//! Account page does) and a client that sends it as `Authorization: Bearer`.

use releasedesk::db::models::tokens::{self, CreatedBy, NewToken};
use releasedesk::db::models::users;
use releasedesk::domain::{TokenName, TokenScope};
use serde_json::Value;

use super::TestApp;

/// A new token of `username` with `scope`, living `days`.
pub async fn token(app: &TestApp, username: &str, scope: TokenScope) -> String {
    let username = username.to_owned();
    app.db(move |c| {
        let user = users::find_by_username(c, &username).unwrap().unwrap();
        tokens::create(
            c,
            user.id,
            &NewToken {
                name: TokenName::parse("ci").unwrap(),
                scope,
                days: 30,
            },
            CreatedBy::Owner,
        )
        .unwrap()
        .secret
    })
    .await
}

/// An answer of the API: status, headers and the JSON body (`Value::Null` when not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The problem document's `type` without its `urn:releasedesk:problem:` prefix.
    pub fn problem(&self) -> &str {
        self.json["type"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("urn:releasedesk:problem:")
    }
}

/// Calls the API of `app` with `token` (or none).
#[derive(Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub fn new(app: &TestApp, token: Option<&str>) -> Api {
        Api {
            base: app.url("/api/v1"),
            token: token.map(str::to_owned),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        );
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_string(b).unwrap());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some(body), &[]).await
    }
}
