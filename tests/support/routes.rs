//! The route table of `src/routes/mod.rs`, read from its source, so tests that must cover every
//! route (the role × action matrix, the CSRF walk) fail when a route is added without them.

use std::collections::BTreeSet;

/// The (method, path) pairs of `src/routes/mod.rs`'s `configure`, read from its source: each
/// `web::scope("…")` prefixes the `.route("…", web::get()|web::post()…)` calls after it (the
/// table lists its top-level routes first, then one scope per area).
pub fn in_source() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/routes/mod.rs");
    let body = source
        .split("pub fn configure")
        .nth(1)
        .and_then(|rest| rest.split(".default_service").next())
        .expect("the configure fn");
    let text: String = body.split_whitespace().collect::<Vec<_>>().join("");
    let mut out = BTreeSet::new();
    let mut scope = String::new();
    let mut rest = text.as_str();
    loop {
        let next_scope = rest.find("web::scope(\"");
        let next_route = rest.find(".route(\"");
        match (next_scope, next_route) {
            (Some(s), r) if r.is_none_or(|r| s < r) => {
                let after = &rest[s + "web::scope(\"".len()..];
                let end = after.find('"').unwrap();
                scope = after[..end].to_owned();
                rest = &after[end..];
            }
            (_, Some(r)) => {
                let after = &rest[r + ".route(\"".len()..];
                let end = after.find('"').unwrap();
                let path = format!("{scope}{}", &after[..end]);
                let method_at = after.find("web::").unwrap() + "web::".len();
                let method = after[method_at..].split('(').next().unwrap().to_uppercase();
                out.insert((method, if path.is_empty() { "/".into() } else { path }));
                rest = &after[end..];
            }
            _ => break,
        }
    }
    out
}

/// A concrete path for a route pattern: `{ws}` is `demo`, every other segment `1`.
pub fn example_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg {
            "{ws}" => "demo",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}
