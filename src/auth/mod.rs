//! Who is asking and whether to believe them: password hashing, the session (identity, CSRF
//! token, flash message), the CSRF middleware, and the extractors handlers use
//! (`CurrentUser`, `WorkspaceCtx`).

pub mod csrf;
pub mod extract;
pub mod password;
pub mod session;

pub use extract::{CurrentUser, WorkspaceCtx};
