//! HTTP handlers, one module per area. Each handler extracts, authorises, makes one call into
//! `db::models` (on the blocking pool) and renders a template. `routes!` below is the route table.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod deliveries;
pub mod download;
pub mod error_page;
pub mod form;
pub mod freezes;
pub mod health;
pub mod insights;
pub mod layout;
pub mod notification_settings;
pub mod region_release;
pub mod regions;
pub mod reviews;
pub mod scripts;
pub mod settings;
pub mod task_release;
pub mod workspaces;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::error::AppError;

/// Declares the route table once: `configure` registers it on the app and `ROUTES` lists it,
/// so tests that must cover every route (the role × action matrix, the CSRF walk) and
/// `paths`' own test read the table the app serves. `top` holds the routes outside any area,
/// then one `scope` per area; actix tries routes in the order written, the method included.
macro_rules! routes {
    (
        top { $( $method:ident $path:literal => $handler:path, )* }
        $( scope $prefix:literal { $( $smethod:ident $spath:literal => $shandler:path, )* } )*
    ) => {
        /// Every route as (method, full path pattern), in the order they are tried.
        pub const ROUTES: &[(&str, &str)] = &[
            $( (stringify!($method), $path), )*
            $( $( (stringify!($smethod), concat!($prefix, $spath)), )* )*
        ];

        /// Registers `ROUTES` on the app; any other address answers 404.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            cfg $( .route($path, web::method(Method::$method).to($handler)) )*
            $(
                .service(
                    web::scope($prefix)
                    $( .route($spath, web::method(Method::$smethod).to($shandler)) )*
                )
            )*
            .default_service(web::to(not_found));
        }
    };
}

routes! {
    top {
        GET  "/" => workspaces::home,
        GET  "/healthz" => health::healthz,
        GET  "/metrics" => health::metrics,
        GET  "/static/{path:.*}" => assets::serve,
        GET  "/login" => auth::login_page,
        POST "/login" => auth::login,
        POST "/logout" => auth::logout,
        GET  "/reviews" => reviews::page,
        POST "/reviews" => reviews::decide,
    }
    scope "/account" {
        GET  "" => account::page,
        POST "/password" => account::change_password,
        POST "/sessions/{id}/end" => account::end_session,
        POST "/tokens" => account::create_token,
        POST "/tokens/{id}/revoke" => account::revoke_token,
        POST "/email" => account::set_email,
        POST "/notifications" => account::save_notifications,
        POST "/test-email" => account::test_email,
    }
    scope "/admin" {
        GET  "/users" => admin::users,
        POST "/users" => admin::create_user,
        POST "/users/{id}/active" => admin::set_active,
        POST "/users/{id}/tenant-admin" => admin::set_tenant_admin,
        POST "/users/{id}/password" => admin::reset_password,
        GET  "/tokens" => admin::tokens,
        POST "/tokens/{id}/revoke" => admin::revoke_token,
    }
    scope "/workspaces" {
        GET  "" => workspaces::index,
        POST "" => workspaces::create,
        GET  "/switch" => workspaces::switch,
        GET  "/{ws}" => workspaces::overview,
        GET  "/{ws}/audit" => workspaces::audit,
        GET  "/{ws}/audit.csv" => workspaces::audit_csv,
        GET  "/{ws}/insights" => insights::page,
        GET  "/{ws}/insights.csv" => insights::csv,
        GET  "/{ws}/scripts" => scripts::index,
        POST "/{ws}/scripts" => scripts::create,
        GET  "/{ws}/scripts/import" => scripts::import_form,
        POST "/{ws}/scripts/import" => scripts::import,
        GET  "/{ws}/scripts/export" => scripts::export,
        GET  "/{ws}/scripts/{id}" => scripts::edit,
        POST "/{ws}/scripts/{id}" => scripts::save,
        POST "/{ws}/scripts/{id}/submit" => scripts::submit,
        GET  "/{ws}/scripts/{id}/diff" => scripts::version_diff,
        GET  "/{ws}/task-release/tasks" => task_release::tasks,
        GET  "/{ws}/task-release/tasks/{id}" => task_release::task,
        GET  "/{ws}/task-release/tasks/{id}/diff" => task_release::task_diff,
        POST "/{ws}/task-release/release" => task_release::release,
        POST "/{ws}/task-release/revoke" => task_release::revoke,
        GET  "/{ws}/task-release/packages" => task_release::packages,
        GET  "/{ws}/task-release/packages/{id}" => task_release::package,
        GET  "/{ws}/task-release/packages/{id}/progress" => task_release::progress,
        POST "/{ws}/task-release/packages/{id}/decision" => task_release::decide,
        POST "/{ws}/task-release/packages/{id}/reviewers" => task_release::add_reviewers,
        POST "/{ws}/task-release/packages/{id}/withdraw" => task_release::withdraw,
        POST "/{ws}/task-release/packages/{id}/override-freeze" => freezes::override_package,
        GET  "/{ws}/task-release/packages/{id}/compare" => task_release::compare,
        GET  "/{ws}/task-release/packages/{id}/compare.diff" => task_release::compare_diff,
        GET  "/{ws}/production" => task_release::production_page,
        GET  "/{ws}/region-release/tasks" => region_release::index,
        POST "/{ws}/region-release/tasks" => region_release::create,
        GET  "/{ws}/region-release/tasks/new" => region_release::new_form,
        GET  "/{ws}/region-release/tasks/{id}" => region_release::show,
        GET  "/{ws}/region-release/tasks/{id}/edit" => region_release::edit_form,
        POST "/{ws}/region-release/tasks/{id}/edit" => region_release::update,
        GET  "/{ws}/region-release/tasks/{id}/process" => region_release::process,
        POST "/{ws}/region-release/tasks/{id}/execute" => region_release::execute,
        POST "/{ws}/region-release/tasks/{id}/suspend" => region_release::suspend,
        POST "/{ws}/region-release/tasks/{id}/rollback" => region_release::rollback,
        POST "/{ws}/region-release/tasks/{id}/override-freeze" => freezes::override_region_task,
        POST "/{ws}/region-release/tasks/{id}/steps/{step}/decision" => region_release::decide,
        GET  "/{ws}/regions" => regions::index,
        POST "/{ws}/regions" => regions::create,
        GET  "/{ws}/regions/{id}" => regions::show,
        POST "/{ws}/regions/{id}" => regions::update,
        GET  "/{ws}/components" => regions::components,
        POST "/{ws}/components" => regions::save_component,
        GET  "/{ws}/settings" => settings::page,
        POST "/{ws}/settings/general" => settings::general,
        POST "/{ws}/settings/members" => settings::add_member,
        POST "/{ws}/settings/members/{user_id}/role" => settings::change_role,
        POST "/{ws}/settings/members/{user_id}/remove" => settings::remove_member,
        POST "/{ws}/settings/reviewers" => settings::add_reviewer,
        POST "/{ws}/settings/reviewers/{user_id}/remove" => settings::remove_reviewer,
        GET  "/{ws}/settings/notifications" => notification_settings::page,
        POST "/{ws}/settings/notifications" => notification_settings::create,
        GET  "/{ws}/settings/notifications/{id}" => notification_settings::edit,
        POST "/{ws}/settings/notifications/{id}" => notification_settings::update,
        POST "/{ws}/settings/notifications/{id}/active" => notification_settings::set_active,
        POST "/{ws}/settings/notifications/{id}/delete" => notification_settings::delete,
        POST "/{ws}/settings/notifications/{id}/test" => notification_settings::test,
        GET  "/{ws}/freezes" => freezes::page,
        POST "/{ws}/freezes" => freezes::create,
        POST "/{ws}/freezes/{id}/delete" => freezes::delete,
        GET  "/{ws}/deliveries" => deliveries::page,
        POST "/{ws}/deliveries/{id}/retry" => deliveries::retry,
    }
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

/// An address whose id is not a number (`…/tasks/abc`) names nothing: the same 404 page as an
/// unknown address, not actix's plain-text parse error.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into())
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
    /// Every message, by field, in the order they were added (the API's problem document).
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
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
