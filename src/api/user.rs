//! `GET /api/v1/user`: who the token acts as, the token itself and the user's workspaces, so a
//! pipeline can check its credentials before it starts.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::problem::ApiError;
use super::{json, utc};
use crate::db::models::workspaces;
use crate::state::{AppState, with_read_conn};

/// The token's user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub tenant_admin: bool,
    pub token: TokenInfo,
    /// Workspaces the user is a member of, with their role there.
    pub workspaces: Vec<Membership>,
}

/// The token of this request (never its secret).
#[derive(Serialize, ToSchema)]
pub struct TokenInfo {
    pub name: String,
    /// `read` or `write`.
    pub scope: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Membership {
    pub slug: String,
    pub name: String,
    /// `viewer`, `developer`, `deployer` or `admin`.
    pub role: String,
}

/// Who the token acts as.
#[utoipa::path(get, path = "/api/v1/user", tag = "user",
    responses((status = 200, description = "The token's user", body = Me)))]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let user = caller.user.clone();
    let memberships = with_read_conn(&state, move |conn| {
        Ok(workspaces::list_for_user(conn, &user)?
            .into_iter()
            .filter_map(|w| {
                w.role.map(|role| Membership {
                    slug: w.workspace.slug,
                    name: w.workspace.name,
                    role: role.as_str().to_owned(),
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &Me {
            username: caller.user.username,
            display_name: caller.user.display_name,
            tenant_admin: caller.user.is_tenant_admin,
            token: TokenInfo {
                name: caller.token.name,
                scope: caller.token.scope.as_str().to_owned(),
                expires_at: utc(caller.token.expires_at),
            },
            workspaces: memberships,
        },
    ))
}
