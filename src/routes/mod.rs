//! HTTP handlers, one module per area. Each handler extracts, authorises, makes one call into
//! `db::models` (on the blocking pool) and renders a template. `configure` is the route table.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod download;
pub mod error_page;
pub mod form;
pub mod health;
pub mod layout;
pub mod region_release;
pub mod regions;
pub mod reviews;
pub mod scripts;
pub mod settings;
pub mod task_release;
pub mod workspaces;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(workspaces::home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_page))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/reviews", web::get().to(reviews::page))
        .route("/reviews", web::post().to(reviews::decide))
        .service(
            web::scope("/account")
                .route("", web::get().to(account::page))
                .route("/password", web::post().to(account::change_password))
                .route("/sessions/{id}/end", web::post().to(account::end_session)),
        )
        .service(
            web::scope("/admin")
                .route("/users", web::get().to(admin::users))
                .route("/users", web::post().to(admin::create_user))
                .route("/users/{id}/active", web::post().to(admin::set_active))
                .route(
                    "/users/{id}/tenant-admin",
                    web::post().to(admin::set_tenant_admin),
                )
                .route(
                    "/users/{id}/password",
                    web::post().to(admin::reset_password),
                ),
        )
        .service(
            web::scope("/workspaces")
                .route("", web::get().to(workspaces::index))
                .route("", web::post().to(workspaces::create))
                .route("/switch", web::get().to(workspaces::switch))
                .route("/{ws}", web::get().to(workspaces::overview))
                .route("/{ws}/audit", web::get().to(workspaces::audit))
                .route("/{ws}/audit.csv", web::get().to(workspaces::audit_csv))
                .route("/{ws}/scripts", web::get().to(scripts::index))
                .route("/{ws}/scripts", web::post().to(scripts::create))
                .route("/{ws}/scripts/import", web::get().to(scripts::import_form))
                .route("/{ws}/scripts/import", web::post().to(scripts::import))
                .route("/{ws}/scripts/export", web::get().to(scripts::export))
                .route("/{ws}/scripts/{id}", web::get().to(scripts::edit))
                .route("/{ws}/scripts/{id}", web::post().to(scripts::save))
                .route("/{ws}/scripts/{id}/submit", web::post().to(scripts::submit))
                .route(
                    "/{ws}/scripts/{id}/diff",
                    web::get().to(scripts::version_diff),
                )
                .route(
                    "/{ws}/task-release/tasks",
                    web::get().to(task_release::tasks),
                )
                .route(
                    "/{ws}/task-release/tasks/{id}",
                    web::get().to(task_release::task),
                )
                .route(
                    "/{ws}/task-release/tasks/{id}/diff",
                    web::get().to(task_release::task_diff),
                )
                .route(
                    "/{ws}/task-release/release",
                    web::post().to(task_release::release),
                )
                .route(
                    "/{ws}/task-release/revoke",
                    web::post().to(task_release::revoke),
                )
                .route(
                    "/{ws}/task-release/packages",
                    web::get().to(task_release::packages),
                )
                .route(
                    "/{ws}/task-release/packages/{id}",
                    web::get().to(task_release::package),
                )
                .route(
                    "/{ws}/task-release/packages/{id}/progress",
                    web::get().to(task_release::progress),
                )
                .route(
                    "/{ws}/task-release/packages/{id}/decision",
                    web::post().to(task_release::decide),
                )
                .route(
                    "/{ws}/task-release/packages/{id}/reviewers",
                    web::post().to(task_release::add_reviewers),
                )
                .route(
                    "/{ws}/task-release/packages/{id}/withdraw",
                    web::post().to(task_release::withdraw),
                )
                .route(
                    "/{ws}/task-release/packages/{id}/compare",
                    web::get().to(task_release::compare),
                )
                .route(
                    "/{ws}/task-release/packages/{id}/compare.diff",
                    web::get().to(task_release::compare_diff),
                )
                .route(
                    "/{ws}/production",
                    web::get().to(task_release::production_page),
                )
                .route(
                    "/{ws}/region-release/tasks",
                    web::get().to(region_release::index),
                )
                .route(
                    "/{ws}/region-release/tasks",
                    web::post().to(region_release::create),
                )
                .route(
                    "/{ws}/region-release/tasks/new",
                    web::get().to(region_release::new_form),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}",
                    web::get().to(region_release::show),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/edit",
                    web::get().to(region_release::edit_form),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/edit",
                    web::post().to(region_release::update),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/process",
                    web::get().to(region_release::process),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/execute",
                    web::post().to(region_release::execute),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/suspend",
                    web::post().to(region_release::suspend),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/rollback",
                    web::post().to(region_release::rollback),
                )
                .route(
                    "/{ws}/region-release/tasks/{id}/steps/{step}/decision",
                    web::post().to(region_release::decide),
                )
                .route("/{ws}/regions", web::get().to(regions::index))
                .route("/{ws}/regions", web::post().to(regions::create))
                .route("/{ws}/regions/{id}", web::get().to(regions::show))
                .route("/{ws}/regions/{id}", web::post().to(regions::update))
                .route("/{ws}/components", web::get().to(regions::components))
                .route("/{ws}/components", web::post().to(regions::save_component))
                .route("/{ws}/settings", web::get().to(settings::page))
                .route("/{ws}/settings/general", web::post().to(settings::general))
                .route(
                    "/{ws}/settings/members",
                    web::post().to(settings::add_member),
                )
                .route(
                    "/{ws}/settings/members/{user_id}/role",
                    web::post().to(settings::change_role),
                )
                .route(
                    "/{ws}/settings/members/{user_id}/remove",
                    web::post().to(settings::remove_member),
                )
                .route(
                    "/{ws}/settings/reviewers",
                    web::post().to(settings::add_reviewer),
                )
                .route(
                    "/{ws}/settings/reviewers/{user_id}/remove",
                    web::post().to(settings::remove_reviewer),
                ),
        )
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Malformed forms answer 400 with what was wrong, forms over the limit 413; never 500.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(crate::domain::limits::MAX_FORM_BYTES)
        .error_handler(|err, _| match err {
            actix_web::error::UrlencodedError::Overflow { .. } => AppError::form_too_large().into(),
            err => AppError::bad_request(format!("The form could not be read: {err}")).into(),
        })
}

/// Malformed query strings answer 400 with what was wrong.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        AppError::bad_request(format!("The address has a bad parameter: {err}")).into()
    })
}

/// Renders a template with a status.
pub fn render(template: &impl Template, status: StatusCode) -> Result<HttpResponse, AppError> {
    let html = template.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Renders an htmx fragment (a template block) with 200.
pub fn fragment(template: &impl Template) -> Result<HttpResponse, AppError> {
    render(template, StatusCode::OK)
}

/// 303 See Other: the answer to a successful plain form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Marks a page re-rendered after a refusal (409 or 422) with its message, so htmx requests get
/// the message as a toast (`middleware::htmx_errors`) instead of the page. A plain form POST
/// gets the page itself, with the message as its flash, so the loser of a race is told in the
/// answer to their own request rather than after a redirect.
pub fn refusal(mut resp: HttpResponse, message: String) -> HttpResponse {
    resp.extensions_mut()
        .insert(error_page::ErrorMessage(message));
    resp
}

/// One page of a list: `page` is 1-based.
#[derive(Clone, Copy, Debug)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
    /// How many rows match, or, when `more`, how far the capped count went
    /// (`db::count`): there are more rows than that.
    pub total: i64,
    pub more: bool,
}

impl Paging {
    /// `page` and `per_page` as the address gives them: read here rather than by serde, whose
    /// message for `?page=zz` ("invalid digit found in string") names no parameter. Blank is
    /// absent, as a form submits an empty field.
    pub fn new(
        page: Option<&str>,
        per_page: Option<&str>,
        default_per_page: i64,
    ) -> Result<Self, AppError> {
        let number =
            |raw: Option<&str>, default: i64, range: std::ops::RangeInclusive<i64>| match raw
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                None => Some(default),
                Some(s) => s.parse::<i64>().ok().filter(|n| range.contains(n)),
            };
        let Some(per_page) = number(per_page, default_per_page, 1..=200) else {
            return Err(AppError::bad_request("per_page must be between 1 and 200."));
        };
        let Some(page) = number(page, 1, 1..=1_000_000) else {
            return Err(AppError::bad_request("page must be a positive number."));
        };
        Ok(Paging {
            page,
            per_page,
            total: 0,
            more: false,
        })
    }
    /// Takes the list's capped count (`db::count::capped` with this page's `count_limit`).
    pub fn set_total(&mut self, counted: i64) {
        let limit = crate::db::count::count_limit(self.per_page, self.offset());
        self.more = counted >= limit;
        self.total = if self.more { limit - 1 } else { counted };
    }
    /// "1,234", or "more than 1,000" when the count stopped at its cap.
    pub fn total_label(&self) -> String {
        let n = thousands(self.total);
        if self.more {
            format!("more than {n}")
        } else {
            n
        }
    }
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }
    /// Where "Previous" leads: the page before, or the last page from one past the end.
    pub fn prev_page(&self) -> i64 {
        (self.page - 1).min(self.pages())
    }
    /// The pager's "Page 3 of 12" ("of 50+" when the count stopped at its cap); past the end,
    /// "Page 9 · the last is 5" rather than "Page 9 of 5".
    pub fn position_label(&self) -> String {
        if self.past_end() {
            format!(
                "Page {} · the last is {}",
                self.page,
                thousands(self.pages())
            )
        } else {
            let pages = thousands(self.pages());
            let plus = if self.more { "+" } else { "" };
            format!("Page {} of {pages}{plus}", self.page)
        }
    }
    pub fn has_next(&self) -> bool {
        self.more || self.page < self.pages()
    }
    /// The address asks for a page after the last one (an old link, a list that shrank): the
    /// list then says so and links to the last page, rather than "No task matches".
    pub fn past_end(&self) -> bool {
        !self.more && self.page > self.pages()
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Messages for form fields, by input name; rendered next to each input by
/// `macros.html::field_error`.
#[derive(Debug, Default)]
pub struct FormErrors(Vec<(&'static str, String)>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Keeps the value on success and records the message on failure.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &'static str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }
}
