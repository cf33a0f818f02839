//! `Layout`: what `templates/base.html` needs on every page (who is signed in, the CSRF token,
//! the workspace switcher, the active navigation entry, a flash message, asset URLs).

use crate::auth::CurrentUser;
use crate::auth::session::{self, Flash};
use crate::db::DbConn;
use crate::db::models::users::User;
use crate::db::models::workspaces::{self, Workspace};
use crate::domain::{Permission, WorkspaceAccess};
use crate::routes::assets;

/// The `Send` part of the request's identity that page building needs on the blocking pool:
/// the user, their CSRF token and the flash message taken from the session.
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl Viewer {
    pub fn of(current: &CurrentUser) -> Self {
        Viewer {
            user: current.user.clone(),
            csrf: current.csrf.clone(),
            flash: session::take_flash(&current.session),
        }
    }
}

pub struct NavUser {
    pub username: String,
    pub display_name: String,
    pub is_tenant_admin: bool,
}

pub struct NavWorkspace {
    pub slug: String,
    pub name: String,
}

/// The workspace whose pages are being shown, and what the navigation may offer there.
pub struct CurrentWorkspace {
    pub slug: String,
    pub name: String,
    pub role_label: String,
    pub can_manage: bool,
}

pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub workspaces: Vec<NavWorkspace>,
    pub current: Option<CurrentWorkspace>,
    /// Which navigation entry is active: `workspaces`, `overview`, `settings`, `audit`,
    /// `users`, `tokens`, `account` or empty.
    pub section: &'static str,
    pub flash: Option<Flash>,
    /// Release packages waiting for the user's decision (the count beside "Reviews").
    pub reviews: i64,
    /// The workspace's freeze windows that are on now: a banner on every page of it.
    pub freezes: Vec<crate::db::models::freezes::ActiveFreeze>,
    pub css_url: &'static str,
    pub icon_url: &'static str,
    pub js_url: &'static str,
    pub htmx_url: &'static str,
    pub htmx_sri: &'static str,
}

impl Layout {
    /// For pages without a signed-in user (sign-in, error pages).
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            user: None,
            csrf: String::new(),
            workspaces: Vec::new(),
            current: None,
            section: "",
            flash: None,
            reviews: 0,
            freezes: Vec::new(),
            css_url: assets::url("app.css"),
            icon_url: assets::url("favicon.svg"),
            js_url: assets::url("app.js"),
            htmx_url: assets::url(assets::HTMX),
            htmx_sri: assets::HTMX_SRI,
        }
    }

    /// For an error page: a header with the way back, whoever is asking.
    pub fn for_error(mut self) -> Self {
        self.section = "error";
        self
    }

    /// For a signed-in page. Reads the user's workspaces for the switcher.
    pub fn build(
        conn: &mut DbConn,
        current: &Viewer,
        title: impl Into<String>,
        section: &'static str,
        workspace: Option<(&Workspace, &WorkspaceAccess)>,
    ) -> Result<Self, crate::error::AppError> {
        Self::build_counted(conn, current, title, section, workspace, None)
    }

    /// `build`, or for an htmx request that swaps in part of the page (a list's rows), a bare
    /// layout: the fragment never shows the navigation, so its statements are not run.
    pub fn build_unless_fragment(
        is_fragment: bool,
        conn: &mut DbConn,
        current: &Viewer,
        title: impl Into<String>,
        section: &'static str,
        workspace: Option<(&Workspace, &WorkspaceAccess)>,
    ) -> Result<Self, crate::error::AppError> {
        if is_fragment {
            return Ok(Self::bare(""));
        }
        Self::build(conn, current, title, section, workspace)
    }

    /// `build` for a page that has just read what waits for the viewer (the Reviews page), so
    /// the navigation's count is not read a second time.
    pub fn build_with_reviews(
        conn: &mut DbConn,
        current: &Viewer,
        title: impl Into<String>,
        section: &'static str,
        reviews: i64,
    ) -> Result<Self, crate::error::AppError> {
        Self::build_counted(conn, current, title, section, None, Some(reviews))
    }

    fn build_counted(
        conn: &mut DbConn,
        current: &Viewer,
        title: impl Into<String>,
        section: &'static str,
        workspace: Option<(&Workspace, &WorkspaceAccess)>,
        reviews: Option<i64>,
    ) -> Result<Self, crate::error::AppError> {
        let user = &current.user;
        // The navigation's statements look the viewer up through `db::opaque`: each keeps
        // one generic plan.
        let workspaces = workspaces::nav_for_user(conn, user)?;
        let reviews = match reviews {
            Some(known) => known,
            None => {
                crate::db::models::releases::awaiting_review_count(conn, user.id)?
                    + crate::db::models::region_release::awaiting(conn, user.id)?.len() as i64
            }
        };
        let workspaces = workspaces
            .into_iter()
            .map(|(slug, name)| NavWorkspace { slug, name })
            .collect();
        let mut layout = Layout::bare("");
        layout.title = title.into();
        layout.user = Some(NavUser {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            is_tenant_admin: user.is_tenant_admin,
        });
        layout.csrf = current.csrf.clone();
        layout.workspaces = workspaces;
        if let Some((ws, _)) = workspace {
            layout.freezes = crate::db::models::freezes::active(conn, ws.id, chrono::Utc::now())?;
        }
        layout.current = workspace.map(|(ws, access)| CurrentWorkspace {
            slug: ws.slug.clone(),
            name: ws.name.clone(),
            role_label: match (access.role, access.tenant_admin) {
                (Some(r), _) => r.label().to_owned(),
                (None, true) => "Tenant admin".to_owned(),
                (None, false) => String::new(),
            },
            can_manage: access.can(Permission::Manage),
        });
        layout.section = section;
        layout.flash = current.flash.clone();
        layout.reviews = reviews;
        Ok(layout)
    }
}
