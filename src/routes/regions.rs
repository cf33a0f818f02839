//! `/workspaces/{ws}/regions` and `/components`: regions with their driver and inventory
//! (history included), and the components region release tasks deploy.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::models::regions::{
    self, Component, ComponentInput, InventoryRow, Region, RegionInput,
};
use crate::db::models::workspaces::Workspace;
use crate::domain::{
    Driver, Permission, parse_cpu, parse_env, parse_memory, validate_component_name,
    validate_region_name,
};
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{FormErrors, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

#[derive(Debug, Default, Deserialize)]
pub struct RegionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_order: String,
    #[serde(default)]
    driver: String,
    #[serde(default)]
    webhook_url: String,
    /// Write-only: empty keeps the stored secret.
    #[serde(default)]
    secret: String,
    #[serde(default)]
    timeout_ms: String,
    #[serde(default)]
    max_attempts: String,
}

impl RegionForm {
    fn of(r: &Region) -> Self {
        RegionForm {
            name: r.name.clone(),
            display_order: r.display_order.to_string(),
            driver: r.driver.as_str().into(),
            webhook_url: r.webhook_url.clone(),
            secret: String::new(),
            timeout_ms: r.timeout_ms.to_string(),
            max_attempts: r.max_attempts.to_string(),
        }
    }

    fn input(&self, errors: &mut FormErrors) -> Option<RegionInput> {
        let name = errors.check("name", validate_region_name(&self.name));
        let order = self.display_order.trim();
        let display_order = if order.is_empty() {
            Some(0)
        } else {
            errors.check(
                "display_order",
                order
                    .parse::<i32>()
                    .map_err(|_| "Enter a whole number.")
                    .and_then(|n| {
                        if (0..=10_000).contains(&n) {
                            Ok(n)
                        } else {
                            Err("Use 0 to 10000.")
                        }
                    }),
            )
        };
        let driver = Driver::parse(&self.driver);
        if driver.is_none() {
            errors.add("driver", "Choose a driver.");
        }
        let url = self.webhook_url.trim().to_owned();
        if driver == Some(Driver::Webhook)
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || url.len() > 500
                || url.contains(char::is_whitespace))
        {
            errors.add(
                "webhook_url",
                "Enter the endpoint's http:// or https:// URL.",
            );
        }
        let secret = self.secret.trim();
        if !secret.is_empty() && (secret.len() < 16 || secret.len() > 200) {
            errors.add("secret", "A signing secret has 16 to 200 characters.");
        }
        let timeout_ms = errors.check(
            "timeout_ms",
            parse_bounded(
                &self.timeout_ms,
                5000,
                100,
                60_000,
                "a timeout in milliseconds",
            ),
        );
        let max_attempts = errors.check(
            "max_attempts",
            parse_bounded(&self.max_attempts, 3, 1, 10, "attempts"),
        );
        Some(RegionInput {
            name: name?,
            display_order: display_order?,
            driver: driver?,
            webhook_url: if driver == Some(Driver::Webhook) {
                url
            } else {
                String::new()
            },
            secret: (!secret.is_empty()).then(|| secret.to_owned()),
            timeout_ms: timeout_ms?,
            max_attempts: max_attempts?,
        })
        .filter(|_| errors.is_empty())
    }
}

fn parse_bounded(raw: &str, default: i32, lo: i32, hi: i32, what: &str) -> Result<i32, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(default);
    }
    match s.parse::<i32>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("Enter {what} from {lo} to {hi}.")),
    }
}

/// A region in the list with how many components run there.
struct RegionSummary {
    region: Region,
    running: usize,
}

#[derive(Template)]
#[template(path = "regions/index.html")]
struct RegionsPage {
    layout: Layout,
    workspace: Workspace,
    regions: Vec<RegionSummary>,
    can_manage: bool,
    form: RegionForm,
    errors: FormErrors,
}

impl RegionsPage {
    fn drivers(&self) -> &'static [Driver] {
        Driver::ALL
    }
}

async fn regions_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: RegionForm,
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
            format!("Regions · {}", workspace.name),
            "regions",
            Some((&workspace, &access)),
        )?;
        let counts = regions::running_counts(conn, workspace.id)?;
        let list = regions::list_regions(conn, workspace.id)?
            .into_iter()
            .map(|region| RegionSummary {
                running: counts.get(&region.id).copied().unwrap_or(0),
                region,
            })
            .collect();
        Ok(RegionsPage {
            layout,
            workspace,
            regions: list,
            can_manage,
            form,
            errors,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/regions`.
pub async fn index(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
) -> Result<HttpResponse, AppError> {
    let form = RegionForm {
        driver: Driver::Inventory.as_str().into(),
        ..Default::default()
    };
    regions_page(&state, ctx, form, FormErrors::default(), StatusCode::OK).await
}

/// `POST /workspaces/{ws}/regions`.
pub async fn create(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: web::Form<RegionForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let mut form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(input) = form.input(&mut errors) else {
        form.secret.clear();
        return regions_page(&state, ctx, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let private = state.private_webhooks;
    match with_conn(&state, move |conn| {
        regions::save_region(conn, actor, ws_id, None, &input, private)
    })
    .await
    {
        Ok(r) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("Region {} created.", r.name),
            );
            Ok(see_other(&crate::paths::region(&slug, r.id)))
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            form.secret.clear();
            regions_page(&state, ctx, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "regions/show.html")]
struct RegionPage {
    layout: Layout,
    workspace: Workspace,
    region: Region,
    inventory: Vec<InventoryRow>,
    history: Vec<InventoryRow>,
    can_manage: bool,
    form: RegionForm,
    errors: FormErrors,
}

impl RegionPage {
    fn drivers(&self) -> &'static [Driver] {
        Driver::ALL
    }
}

async fn region_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    id: i64,
    form: Option<RegionForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let can_manage = ctx.access.can(Permission::Manage);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let region = regions::find_region(conn, workspace.id, id)?.ok_or(AppError::NotFound)?;
        let layout = Layout::build(
            conn,
            &viewer,
            format!("{} · Regions", region.name),
            "regions",
            Some((&workspace, &access)),
        )?;
        let inventory = regions::current_inventory(conn, region.id)?;
        let history = regions::inventory_history(conn, region.id, 100)?;
        Ok(RegionPage {
            layout,
            workspace,
            form: form.unwrap_or_else(|| RegionForm::of(&region)),
            region,
            inventory,
            history,
            can_manage,
            errors,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/regions/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    region_page(&state, ctx, id, None, FormErrors::default(), StatusCode::OK).await
}

/// `POST /workspaces/{ws}/regions/{id}`.
pub async fn update(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
    form: web::Form<RegionForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let mut form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(input) = form.input(&mut errors) else {
        form.secret.clear();
        return region_page(
            &state,
            ctx,
            id,
            Some(form),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    let private = state.private_webhooks;
    match with_conn(&state, move |conn| {
        regions::save_region(conn, actor, ws_id, Some(id), &input, private)
    })
    .await
    {
        Ok(r) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("Region {} saved.", r.name),
            );
            Ok(see_other(&crate::paths::region(&slug, id)))
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            form.secret.clear();
            region_page(
                &state,
                ctx,
                id,
                Some(form),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ComponentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    artifact: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    instances: String,
    #[serde(default)]
    cpu: String,
    #[serde(default)]
    memory: String,
    #[serde(default)]
    env: String,
}

impl ComponentForm {
    fn of(c: &Component) -> Self {
        ComponentForm {
            name: c.name.clone(),
            artifact: c.artifact.clone(),
            version: c.version.clone(),
            instances: c.instances.to_string(),
            cpu: c.cpu(),
            memory: c.memory(),
            env: c.env.clone(),
        }
    }

    fn input(&self, errors: &mut FormErrors) -> Option<ComponentInput> {
        let name = errors.check("name", validate_component_name(&self.name));
        let artifact = self.artifact.trim().to_owned();
        if artifact.is_empty() || artifact.len() > 300 || artifact.contains(char::is_whitespace) {
            errors.add(
                "artifact",
                "Enter the image or artifact, e.g. registry.example.com/payments-api.",
            );
        }
        let version = self.version.trim().to_owned();
        if version.is_empty() || version.len() > 60 || version.contains(char::is_whitespace) {
            errors.add("version", "Enter a version such as 1.4.2 (no spaces).");
        }
        let instances = errors.check(
            "instances",
            parse_bounded(&self.instances, 1, 0, 1000, "a number of instances"),
        );
        let cpu = errors.check("cpu", parse_cpu(&self.cpu));
        let memory = errors.check("memory", parse_memory(&self.memory));
        errors.check("env", parse_env(&self.env));
        Some(ComponentInput {
            name: name?,
            artifact,
            version,
            instances: instances?,
            cpu_millis: cpu?,
            memory_mib: memory?,
            env: self.env.replace("\r\n", "\n").trim().to_owned(),
        })
        .filter(|_| errors.is_empty())
    }
}

#[derive(Template)]
#[template(path = "components/index.html")]
struct ComponentsPage {
    layout: Layout,
    workspace: Workspace,
    components: Vec<Component>,
    can_develop: bool,
    form: ComponentForm,
    errors: FormErrors,
    editing: Option<i64>,
}

async fn components_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    form: ComponentForm,
    errors: FormErrors,
    editing: Option<i64>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(&ctx.current);
    let can_develop = ctx.access.can(Permission::Develop);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Components · {}", workspace.name),
            "components",
            Some((&workspace, &access)),
        )?;
        let components = regions::list_components(conn, workspace.id)?;
        Ok(ComponentsPage {
            layout,
            workspace,
            components,
            can_develop,
            form,
            errors,
            editing,
        })
    })
    .await?;
    render(&page, status)
}

#[derive(Deserialize)]
pub struct EditQuery {
    edit: Option<i64>,
}

/// `GET /workspaces/{ws}/components?edit={id}`.
pub async fn components(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    let editing = query.edit;
    let form = match editing {
        Some(id) => {
            let ws = ctx.workspace.id;
            let c = with_read_conn(&state, move |conn| {
                Ok(regions::find_component(conn, ws, id)?)
            })
            .await?
            .ok_or(AppError::NotFound)?;
            ComponentForm::of(&c)
        }
        None => ComponentForm {
            instances: "2".into(),
            cpu: "500m".into(),
            memory: "512Mi".into(),
            ..Default::default()
        },
    };
    components_page(
        &state,
        ctx,
        form,
        FormErrors::default(),
        editing,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct ComponentIdQuery {
    id: Option<i64>,
}

/// `POST /workspaces/{ws}/components?id={id}`: create, or update `id`.
pub async fn save_component(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<ComponentIdQuery>,
    form: web::Form<ComponentForm>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Develop)?;
    let id = query.id;
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let Some(input) = form.input(&mut errors) else {
        return components_page(
            &state,
            ctx,
            form,
            errors,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let (actor, ws_id, slug) = (ctx.user().id, ctx.workspace.id, ctx.workspace.slug.clone());
    match with_conn(&state, move |conn| {
        regions::save_component(conn, actor, ws_id, id, &input)
    })
    .await
    {
        Ok(c) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!("Component {} saved ({}:{}).", c.name, c.artifact, c.version),
            );
            Ok(see_other(&crate::paths::components(&slug)))
        }
        Err(AppError::Field { field, message }) => {
            errors.add(field, message);
            components_page(
                &state,
                ctx,
                form,
                errors,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}
