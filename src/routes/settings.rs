//! `/workspaces/{ws}/settings`: general settings (name, mode, approval policy, quorum, approval
//! expiry), members
//! and their roles, and the reviewer list. Workspace admins and tenant administrators only; the
//! data layer re-checks that inside each transaction.
//!
//! Every form is a plain POST answered by a redirect back here with a flash message; a value the
//! rules refuse re-renders the page (422) with the user's input and the message beside the field.

use crate::domain::UserId;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::models::audit::{self, AuditFilter, AuditRow};
use crate::db::models::workspaces::{
    self, Member, ReviewsAtStake, RoleOutcome, SettingsUpdate, Workspace,
};
use crate::domain::{
    ApprovalExpiry, ApprovalPolicy, Description, Permission, Quorum, Role, WorkspaceMode,
    WorkspaceName,
};
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, refusal, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

#[derive(Debug, Default, Deserialize)]
pub struct GeneralForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    approval_policy: String,
    #[serde(default)]
    quorum: String,
    /// "Approvals expire after": empty for never, else `12h`, `7d`… (`ApprovalExpiry::parse`).
    #[serde(default)]
    approval_expiry: String,
}

impl GeneralForm {
    fn from_workspace(ws: &Workspace) -> Self {
        GeneralForm {
            name: ws.name.clone(),
            description: ws.description.clone(),
            mode: ws.mode.as_str().into(),
            approval_policy: ws.approval_policy.as_str().into(),
            quorum: ws.quorum.as_str().into(),
            approval_expiry: ws
                .approval_expiry()
                .map(ApprovalExpiry::to_field)
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

/// Which form of the page a submission came from, with its values and messages.
enum Submitted {
    None,
    General(GeneralForm, FormErrors),
    AddMember(AddMemberForm, FormErrors),
    Reviewer(FormErrors),
    /// A role change held back: member id and the reviews it would remove.
    ConfirmRole(UserId, ReviewsAtStake),
}

#[derive(Template)]
#[template(path = "workspaces/settings.html")]
struct SettingsPage {
    layout: Layout,
    workspace: Workspace,
    members: Vec<Member>,
    reviewer_changes: Vec<AuditRow>,
    general: GeneralForm,
    general_errors: FormErrors,
    add: AddMemberForm,
    add_errors: FormErrors,
    reviewer_errors: FormErrors,
    confirm_role: Option<(UserId, ReviewsAtStake)>,
}

impl SettingsPage {
    fn roles(&self) -> &'static [Role] {
        &Role::ALL
    }
    fn modes(&self) -> &'static [WorkspaceMode] {
        WorkspaceMode::ALL
    }
    fn policies(&self) -> &'static [ApprovalPolicy] {
        ApprovalPolicy::ALL
    }
    fn quorums(&self) -> &'static [Quorum] {
        Quorum::ALL
    }
    fn reviewers(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.is_reviewer())
    }
    /// Members who could be put on the reviewer list now.
    fn candidates(&self) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(|m| !m.is_reviewer() && m.may_review())
    }
    fn admin_count(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.role() == Role::Admin)
            .count()
    }
}

async fn settings_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    submitted: Submitted,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Settings · {}", workspace.name),
            "settings",
            Some((&workspace, &access)),
        )?;
        let members = workspaces::members(conn, workspace.id)?;
        let filter = AuditFilter {
            action: Some("reviewer.".into()),
            actor: None,
        };
        let (reviewer_changes, _) = audit::list(conn, Some(workspace.id), &filter, 5, 0)?;
        let mut page = SettingsPage {
            layout,
            general: GeneralForm::from_workspace(&workspace),
            workspace,
            members,
            reviewer_changes,
            general_errors: FormErrors::default(),
            add: AddMemberForm {
                username: String::new(),
                role: Role::Developer.as_str().into(),
            },
            add_errors: FormErrors::default(),
            reviewer_errors: FormErrors::default(),
            confirm_role: None,
        };
        match submitted {
            Submitted::None => {}
            Submitted::General(form, errors) => {
                (page.general, page.general_errors) = (form, errors)
            }
            Submitted::AddMember(form, errors) => (page.add, page.add_errors) = (form, errors),
            Submitted::Reviewer(errors) => page.reviewer_errors = errors,
            Submitted::ConfirmRole(user_id, stake) => page.confirm_role = Some((user_id, stake)),
        }
        Ok(page)
    })
    .await?;
    render(&page, status)
}

fn back(ctx: &WorkspaceCtx, anchor: &str) -> HttpResponse {
    see_other(&format!(
        "{}#{anchor}",
        crate::paths::settings(&ctx.workspace.slug)
    ))
}

/// Turns the outcome of a settings change into the answer: success and refusals that depend on
/// the current state (someone acted first) go back to the page with a flash message; a value
/// refused by a rule re-renders the form it came from.
async fn respond<T>(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    anchor: &str,
    outcome: Result<T, AppError>,
    success: impl FnOnce(T) -> String,
    on_field: impl FnOnce(FormErrors) -> Submitted,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Ok(value) => {
            session::flash(&ctx.current.session, FlashKind::Ok, success(value));
            Ok(back(&ctx, anchor))
        }
        Err(AppError::Conflict(message)) => {
            // Someone changed it first, or the rule refuses it now: 409 with the settings.
            session::flash(&ctx.current.session, FlashKind::Error, message.clone());
            let page = settings_page(state, ctx, Submitted::None, StatusCode::CONFLICT).await?;
            Ok(refusal(page, message))
        }
        Err(AppError::Field { field, message }) => {
            let mut errors = FormErrors::default();
            errors.add(field, message);
            settings_page(
                state,
                ctx,
                on_field(errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `GET /workspaces/{ws}/settings`.
pub async fn page(state: web::Data<AppState>, ctx: WorkspaceCtx) -> Result<HttpResponse, AppError> {
    settings_page(&state, ctx, Submitted::None, StatusCode::OK).await
}

/// `POST /workspaces/{ws}/settings/general`.
pub async fn general(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: web::Form<GeneralForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let name = errors.check("name", WorkspaceName::parse(&form.name));
    let mode = WorkspaceMode::parse(&form.mode);
    let policy = ApprovalPolicy::parse(&form.approval_policy);
    let quorum = Quorum::parse(&form.quorum);
    if mode.is_none() {
        errors.add("mode", "Choose enterprise or simple mode.");
    }
    if policy.is_none() {
        errors.add("approval_policy", "Choose who needs approval.");
    }
    if quorum.is_none() {
        errors.add("quorum", "Choose any or all reviewers.");
    }
    let description = errors.check("description", Description::parse(&form.description));
    let approval_expiry = errors.check(
        "approval_expiry",
        ApprovalExpiry::parse(&form.approval_expiry),
    );
    let (
        Some(name),
        Some(description),
        Some(mode),
        Some(approval_policy),
        Some(quorum),
        Some(approval_expiry),
        true,
    ) = (
        name,
        description,
        mode,
        policy,
        quorum,
        approval_expiry,
        errors.is_empty(),
    )
    else {
        return settings_page(
            &state,
            ctx,
            Submitted::General(form, errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let update = SettingsUpdate {
        name,
        description,
        mode,
        approval_policy,
        quorum,
        approval_expiry,
    };
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        workspaces::update_settings(conn, actor, ws_id, &update)
    })
    .await;
    respond(
        &state,
        ctx,
        "general",
        outcome,
        |_| "Settings saved.".into(),
        |e| Submitted::General(form, e),
    )
    .await
}

/// `POST /workspaces/{ws}/settings/members`: add a member by username.
pub async fn add_member(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: web::Form<AddMemberForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let username = errors.check("username", crate::domain::Username::parse(&form.username));
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    let (Some(username), Some(role), true) = (username, role, errors.is_empty()) else {
        return settings_page(
            &state,
            ctx,
            Submitted::AddMember(form, errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let name = username.as_str().to_owned();
    let outcome = with_conn(&state, move |conn| {
        workspaces::add_member(conn, actor, ws_id, username.as_str(), role)
    })
    .await;
    respond(
        &state,
        ctx,
        "members",
        outcome,
        |_| format!("{name} added as {}.", role.as_str()),
        |e| Submitted::AddMember(form, e),
    )
    .await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    /// The role the admin saw when they chose the new one.
    expected: Option<String>,
    /// Present when the admin confirmed a change that removes pending reviews.
    confirm: Option<String>,
}

/// `POST /workspaces/{ws}/settings/members/{user_id}/role`.
pub async fn change_role(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, UserId)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, user_id) = path.into_inner();
    let to = Role::parse(&form.role).ok_or_else(|| AppError::bad_request("Unknown role."))?;
    let expected = form.expected.as_deref().and_then(Role::parse);
    let confirmed = form.confirm.is_some();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        workspaces::change_role(conn, actor, ws_id, user_id, expected, to, confirmed)
    })
    .await;
    let outcome = match outcome {
        Ok(RoleOutcome::Confirm(stake)) => {
            let asked = Submitted::ConfirmRole(user_id, stake);
            return settings_page(&state, ctx, asked, StatusCode::OK).await;
        }
        Ok(RoleOutcome::Changed(change)) => Ok(change),
        Err(e) => Err(e),
    };
    respond(
        &state,
        ctx,
        "members",
        outcome,
        |change| {
            let mut text = format!(
                "{} is now {} (was {}).",
                change.username,
                change.to.as_str(),
                change.from.as_str()
            );
            if change.removed_from_reviewers {
                text.push_str(&format!(
                    " {} was removed from the reviewer list: a {} cannot review.",
                    change.username,
                    change.to.as_str()
                ));
            }
            text
        },
        Submitted::Reviewer,
    )
    .await
}

/// `POST /workspaces/{ws}/settings/members/{user_id}/remove`.
pub async fn remove_member(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, UserId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, user_id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        workspaces::remove_member(conn, actor, ws_id, user_id)
    })
    .await;
    respond(
        &state,
        ctx,
        "members",
        outcome,
        |name| format!("{name} was removed from the workspace."),
        Submitted::Reviewer,
    )
    .await
}

#[derive(Deserialize)]
pub struct ReviewerForm {
    #[serde(default)]
    user_id: String,
}

/// `POST /workspaces/{ws}/settings/reviewers`.
pub async fn add_reviewer(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: web::Form<ReviewerForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let Ok(user_id) = form.user_id.trim().parse::<UserId>() else {
        let mut errors = FormErrors::default();
        errors.add("reviewer", "Choose a member to add as a reviewer.");
        return settings_page(
            &state,
            ctx,
            Submitted::Reviewer(errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        workspaces::add_reviewer(conn, actor, ws_id, user_id)
    })
    .await;
    respond(
        &state,
        ctx,
        "reviewers",
        outcome,
        |name| format!("{name} is now a reviewer."),
        Submitted::Reviewer,
    )
    .await
}

/// `POST /workspaces/{ws}/settings/reviewers/{user_id}/remove`.
pub async fn remove_reviewer(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, UserId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, user_id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        workspaces::remove_reviewer(conn, actor, ws_id, user_id)
    })
    .await;
    respond(
        &state,
        ctx,
        "reviewers",
        outcome,
        |name| format!("{name} is no longer a reviewer."),
        Submitted::Reviewer,
    )
    .await
}
