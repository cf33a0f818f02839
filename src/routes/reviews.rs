//! `/reviews`: every release package waiting for my decision, in every workspace, with
//! Approve / Reject on several at once (each decision checked and recorded on its own).

use crate::domain::PackageId;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::auth::session::{self, FlashKind};
use crate::db::models::region_release::{self, CheckpointRequest};
use crate::db::models::releases::{self, Decision, ReviewRequest};
use crate::domain::Comment;
use crate::error::AppError;
use crate::filters;
use crate::routes::form::Form;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{refusal, render, see_other};
use crate::state::AppState;
use crate::state::{with_conn, with_read_conn};

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    layout: Layout,
    requests: Vec<ReviewRequest>,
    /// Region release checkpoints waiting for me.
    checkpoints: Vec<CheckpointRequest>,
}

/// `GET /reviews`.
pub async fn page(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    reviews_page(&state, &current, StatusCode::OK).await
}

async fn reviews_page(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::of(current);
    let page = with_read_conn(state, move |conn| {
        let requests = releases::awaiting_review(conn, viewer.user.id)?;
        let checkpoints = region_release::awaiting(conn, viewer.user.id)?;
        // The navigation counts exactly these lists (the same filters), so they are its count.
        let waiting = (requests.len() + checkpoints.len()) as i64;
        let layout = Layout::build_with_reviews(conn, &viewer, "Reviews", "reviews", waiting)?;
        Ok(ReviewsPage {
            layout,
            requests,
            checkpoints,
        })
    })
    .await?;
    render(&page, status)
}

/// A refused form (nothing decided): the page again with 422 and the message, answered like
/// every other refusal (`routes::refusal`).
async fn refused(
    state: &web::Data<AppState>,
    current: &CurrentUser,
    message: String,
) -> Result<HttpResponse, AppError> {
    session::flash(&current.session, FlashKind::Error, message.clone());
    let page = reviews_page(state, current, StatusCode::UNPROCESSABLE_ENTITY).await?;
    Ok(refusal(page, message))
}

/// The Reviews page's form: the checked packages, approve|reject, one comment for all.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReviewsForm {
    package_ids: Vec<PackageId>,
    decision: String,
    comment: String,
}

/// `POST /reviews`: `package_ids` (several), `decision` approve|reject, `comment`.
pub async fn decide(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: Form<ReviewsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let package_ids = form.package_ids;
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(AppError::bad_request("decision is approve or reject.")),
    };
    let comment = match Comment::parse(&form.comment) {
        Ok(comment) => comment,
        Err(e) => return refused(&state, &current, e.0).await,
    };
    if package_ids.is_empty() || package_ids.len() > 100 {
        return refused(
            &state,
            &current,
            "Select between 1 and 100 packages.".into(),
        )
        .await;
    }
    let actor = current.user.id;
    let outcomes = with_conn(&state, move |conn| {
        let mut out = Vec::new();
        for id in package_ids {
            let result = match releases::workspace_of(conn, id)? {
                Some(ws) => releases::decide(conn, actor, ws, id, decision, &comment)
                    .map(|d| d.package_name),
                None => Err(AppError::NotFound),
            };
            out.push((id, result));
        }
        Ok(out)
    })
    .await?;
    let ok: Vec<String> = outcomes
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(id, r)| r.as_ref().err().map(|e| format!("package #{id}: {e}")))
        .collect();
    let verb = if decision == Decision::Approve {
        "Approved"
    } else {
        "Rejected"
    };
    if !ok.is_empty() {
        session::flash(
            &current.session,
            FlashKind::Ok,
            format!(
                "{verb}: {}.{}",
                ok.join(", "),
                if failed.is_empty() {
                    String::new()
                } else {
                    format!(" Not decided: {}", failed.join("; "))
                }
            ),
        );
    } else {
        session::flash(
            &current.session,
            FlashKind::Error,
            format!("Nothing decided. {}", failed.join("; ")),
        );
    }
    Ok(see_other(crate::paths::reviews()))
}
