//! releasedesk: a self-hosted release console (Task Release with reviews, Region Release).
//!
//! The crate's map, one line per module:

/// `/api/v1`: the JSON API for CI, with bearer tokens and its OpenAPI document.
pub mod api;
/// Passwords, sessions, CSRF, sign-in throttling and the extractors that say who is asking.
pub mod auth;
/// `seed-bench`: bulk, realistic benchmark data in one new workspace.
pub mod bench_seed;
/// Bar charts drawn on the server as SVG, for the Insights page.
pub mod charts;
/// Command line: `serve`, `migrate`, `backup`, `user add`, `seed-bench`.
pub mod cli;
/// Typed settings read from flags and `RELEASEDESK_*` / `DATABASE_URL` variables.
pub mod config;
/// Connections (SQLite or PostgreSQL), migrations, schema, and the queries that hold the rules.
pub mod db;
/// Demo workspace and users for `serve --demo`.
pub mod demo;
/// Line diffs with word highlights for script and package comparisons (`templates/_diff.html`).
pub mod diff;
/// Newtypes and enums with their rules: roles, workspace settings, validated names.
pub mod domain;
/// `AppError`: the one error type of handlers and rule-holding data functions, and its pages.
pub mod error;
/// Askama filters shared by all templates.
pub mod filters;
/// What `/metrics` exports: request counts and durations, the pool, job queues, outcomes.
pub mod metrics;
/// Security headers, htmx-aware error rendering and inline gzip of whole bodies.
pub mod middleware;
/// Password hashing (argon2id) and its cost settings.
pub mod password;
/// Every address of the app, for redirects, templates and tests.
pub mod paths;
/// Answers computed a moment ago, kept a few seconds for pages that aggregate much (Insights).
pub mod recent;
/// HTTP handlers, one module per area.
pub mod routes;
/// Fuzzy name search with the same ranking on both backends.
pub mod search;
/// Builds the actix `App`: every route, middleware and shared state.
pub mod startup;
/// `AppState` and the connection helpers every handler and extractor uses.
pub mod state;
/// The durable background worker that releases approved packages to production.
pub mod worker;
