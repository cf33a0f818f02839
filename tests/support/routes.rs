//! The app's route table (`releasedesk::routes::ROUTES`, declared with the same macro that
//! registers the routes), so tests that must cover every route (the role × action matrix, the
//! CSRF walk) fail when a route is added without them.

use std::collections::BTreeSet;

/// Every (method, path pattern) the app answers.
pub fn all() -> BTreeSet<(String, String)> {
    releasedesk::routes::ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect()
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
