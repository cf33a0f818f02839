//! `/workspaces/{ws}/freezes`: the workspace's freeze windows, which is on now and until when,
//! the next ones, and (for workspace admins and tenant administrators) the form that adds one
//! and the buttons that delete them; and the override of a freeze for one package or one
//! region task, with its reason. `db::models::freezes` checks the rules again inside each
//! transaction and audits every change. Bad input re-renders the form (422) with what was typed
//! and a message per field.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDateTime, Utc};
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::DbConn;
use crate::db::models::freezes::{self, ActiveFreeze, FreezeWindow, NewWhen, NewWindow};
use crate::db::models::regions::{self, Region};
use crate::db::models::workspaces::Workspace;
use crate::domain::{
    Comment, FreezeScope, MAX_WINDOW_MINUTES, PackageId, Permission, RegionTaskId, UserId,
    WorkspaceId, check_recurring, check_schedule, local_instant, parse_time_zone, time_zone_names,
};
use crate::error::AppError;
use crate::routes::form::Form;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, render, see_other};
use crate::state::{AppState, with_conn, with_read_conn};

/// The window form as sent.
#[derive(Debug, Deserialize)]
pub struct FreezeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    scope: String,
    /// `once` or `recurring`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
    #[serde(default)]
    schedule: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    regions: Vec<i64>,
}

impl Default for FreezeForm {
    fn default() -> Self {
        FreezeForm {
            name: String::new(),
            reason: String::new(),
            scope: FreezeScope::Both.as_str().into(),
            kind: "once".into(),
            starts: String::new(),
            ends: String::new(),
            schedule: String::new(),
            duration: String::new(),
            time_zone: "UTC".into(),
            regions: Vec::new(),
        }
    }
}

/// "90m", "8h", "2d 14h", "1h30m": a duration in minutes.
fn parse_duration(raw: &str) -> Option<i64> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return None;
    }
    let (mut total, mut number) = (0i64, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        total += n.checked_mul(match c {
            'd' | 'D' => 1440,
            'h' | 'H' => 60,
            'm' | 'M' => 1,
            _ => return None,
        })?;
    }
    if !number.is_empty() {
        return None; // A bare number has no unit.
    }
    Some(total)
}

fn parse_local(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M"))
        .ok()
}

impl FreezeForm {
    fn chose(&self, region: &i64) -> bool {
        self.regions.contains(region)
    }

    /// The checked window, or the messages.
    fn input(&self, errors: &mut FormErrors) -> Option<NewWindow> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            errors.add(
                "name",
                "A window's name has 1 to 80 characters, e.g. Year-end freeze.",
            );
        }
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            errors.add(
                "reason",
                "Say why nothing goes out (1 to 500 characters); people see it when they are held.",
            );
        }
        let scope = FreezeScope::parse(&self.scope);
        if scope.is_none() {
            errors.add("scope", "Choose what the window holds.");
        }
        if scope == Some(FreezeScope::Task) && !self.regions.is_empty() {
            errors.add(
                "regions",
                "Regions limit Region Release only; choose Region Release or both, or no regions.",
            );
        }
        let tz = match parse_time_zone(&self.time_zone) {
            Ok(tz) => Some(tz),
            Err(e) => {
                errors.add("time_zone", e.0);
                None
            }
        };
        let when = match self.kind.as_str() {
            "once" => {
                let starts = parse_local(&self.starts);
                let ends = parse_local(&self.ends);
                if starts.is_none() {
                    errors.add("starts", "Enter when the window starts (date and time).");
                }
                if ends.is_none() {
                    errors.add("ends", "Enter when the window ends (date and time).");
                }
                match (starts, ends, tz) {
                    (Some(s), Some(e), Some(tz)) => {
                        match (local_instant(s, tz), local_instant(e, tz)) {
                            (Err(m), _) => {
                                errors.add("starts", m.0);
                                None
                            }
                            (_, Err(m)) => {
                                errors.add("ends", m.0);
                                None
                            }
                            (Ok(s), Ok(e)) if e <= s => {
                                errors.add("ends", "The window must end after it starts.");
                                None
                            }
                            (Ok(_), Ok(e)) if e <= Utc::now() => {
                                errors.add("ends", "This window would already be over.");
                                None
                            }
                            (Ok(s), Ok(e)) if (e - s).num_minutes() > MAX_WINDOW_MINUTES => {
                                errors.add("ends", "A window lasts at most 90 days.");
                                None
                            }
                            (Ok(starts), Ok(ends)) => Some(NewWhen::Once {
                                starts,
                                ends,
                                time_zone: tz.name().to_owned(),
                            }),
                        }
                    }
                    _ => None,
                }
            }
            "recurring" => {
                let schedule = match check_schedule(&self.schedule) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        errors.add("schedule", e.0);
                        None
                    }
                };
                let minutes =
                    parse_duration(&self.duration).filter(|m| (1..=MAX_WINDOW_MINUTES).contains(m));
                if minutes.is_none() {
                    errors.add(
                        "duration",
                        "Enter how long each time lasts, e.g. 90m, 8h or 2d 14h (at most 90 days).",
                    );
                }
                match (schedule, minutes, tz) {
                    (Some(schedule), Some(minutes), Some(tz)) => {
                        match check_recurring(&schedule, tz, minutes, Utc::now()) {
                            Ok(()) => Some((schedule, minutes, tz)),
                            Err(e) => {
                                errors.add("duration", e.0);
                                None
                            }
                        }
                    }
                    _ => None,
                }
                .map(|(schedule, minutes, tz)| NewWhen::Recurring {
                    schedule,
                    minutes: minutes as i32,
                    time_zone: tz.name().to_owned(),
                })
            }
            _ => {
                errors.add("kind", "Choose one-off or recurring.");
                None
            }
        };
        if !errors.is_empty() {
            return None;
        }
        Some(NewWindow {
            name: name.to_owned(),
            reason: reason.to_owned(),
            scope: scope?,
            when: when?,
            regions: self.regions.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "workspaces/freezes.html")]
struct FreezesPage {
    layout: Layout,
    workspace: Workspace,
    can_manage: bool,
    windows: Vec<FreezeWindow>,
    active: Vec<ActiveFreeze>,
    upcoming: Vec<ActiveFreeze>,
    regions: Vec<Region>,
    form: FreezeForm,
    errors: FormErrors,
    scopes: &'static [FreezeScope],
    time_zones: Vec<&'static str>,
}

impl FreezesPage {
    fn active_until(&self, id: &i64) -> Option<String> {
        self.active
            .iter()
            .find(|a| a.window.id == *id)
            .map(|a| a.until())
    }
}

async fn freezes_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: Option<FreezeForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let can_manage = ctx.access.can(Permission::Manage);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Freezes · {}", workspace.name),
            "freezes",
            Some((&workspace, &access)),
        )?;
        // One read of the windows for the list and the next ones; what is on now is the
        // layout's banner, read once too.
        let windows = freezes::list(conn, workspace.id)?;
        let active = layout.freezes.clone();
        let upcoming = freezes::upcoming_among(&windows, Utc::now(), 30, 10);
        let regions = regions::list_regions(conn, workspace.id)?;
        Ok(FreezesPage {
            layout,
            workspace,
            can_manage,
            windows,
            active,
            upcoming,
            regions,
            form: form.unwrap_or_default(),
            errors,
            scopes: FreezeScope::ALL,
            time_zones: if can_manage {
                time_zone_names().collect()
            } else {
                Vec::new()
            },
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/freezes`: every member.
pub async fn page(state: web::Data<AppState>, ctx: WorkspaceCtx) -> Result<HttpResponse, AppError> {
    freezes_page(&state, ctx, None, FormErrors::default(), StatusCode::OK).await
}

/// `POST /workspaces/{ws}/freezes`: adds a window.
pub async fn create(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: Form<FreezeForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(new) = form.input(&mut errors) else {
        return freezes_page(
            &state,
            ctx,
            Some(form),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let name = new.name.clone();
    match with_conn(&state, move |conn| {
        freezes::create(conn, actor, ws_id, &new)
    })
    .await
    {
        Ok(_) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("Freeze window “{name}” added."),
            );
            Ok(see_other(&crate::paths::freezes(&ctx.workspace.slug)))
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            freezes_page(
                &state,
                ctx,
                Some(form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `POST /workspaces/{ws}/freezes/{id}/delete`: deletes a window (ending it, if it is on).
pub async fn delete(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let name = with_conn(&state, move |conn| freezes::delete(conn, actor, ws_id, id)).await?;
    session::flash(
        &ctx.current.session,
        FlashKind::Ok,
        format!("Freeze window “{name}” deleted."),
    );
    Ok(see_other(&crate::paths::freezes(&ctx.workspace.slug)))
}

#[derive(Debug, Default, Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    reason: String,
}

/// Runs an override (`run`: the model function for the item) with the form's reason, then
/// goes back to the item (`back`) with a message; a refusal (nothing holds it, someone
/// overrode it first) is a 409 that says why. The reason is the form's one field, on the
/// item's page: its message comes back there as a flash.
async fn override_freeze(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: OverrideForm,
    back: String,
    run: impl FnOnce(&mut DbConn, UserId, WorkspaceId, &Comment) -> Result<(), AppError>
    + Send
    + 'static,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = match Comment::parse(&form.reason) {
        Ok(reason) => with_conn(&state, move |conn| run(conn, actor, ws_id, &reason)).await,
        Err(e) => Err(AppError::field("reason", e.0)),
    };
    match outcome {
        Ok(()) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                "Freeze overridden: it goes on now. The workspace's admins are told.",
            );
            Ok(see_other(&back))
        }
        Err(AppError::Field { message, .. }) => {
            session::flash(&ctx.current.session, FlashKind::Error, message);
            Ok(see_other(&back))
        }
        Err(e) => Err(e),
    }
}

/// `POST /workspaces/{ws}/task-release/packages/{id}/override-freeze`.
pub async fn override_package(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, PackageId)>,
    form: Form<OverrideForm>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let back = crate::paths::package(&ctx.workspace.slug, id);
    override_freeze(state, ctx, form.into_inner(), back, move |c, a, w, r| {
        freezes::override_package(c, a, w, id, r)
    })
    .await
}

/// `POST /workspaces/{ws}/region-release/tasks/{id}/override-freeze`.
pub async fn override_region_task(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, RegionTaskId)>,
    form: Form<OverrideForm>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let back = crate::paths::region_task(&ctx.workspace.slug, id);
    override_freeze(state, ctx, form.into_inner(), back, move |c, a, w, r| {
        freezes::override_region_task(c, a, w, id, r)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90m"), Some(90));
        assert_eq!(parse_duration("8h"), Some(480));
        assert_eq!(parse_duration("2d 14h"), Some(2 * 1440 + 14 * 60));
        assert_eq!(parse_duration("1h30m"), Some(90));
        assert_eq!(parse_duration("90"), None);
        assert_eq!(parse_duration("3w"), None);
        assert_eq!(parse_duration(""), None);
    }
}
