//! Who is asking and whether to believe them: password hashing, the session (identity, CSRF
//! token, flash message), the CSRF middleware, the extractors handlers use (`CurrentUser`,
//! `WorkspaceCtx`), and where a sign-in may send the browser next (`SafeNext`).

pub mod csrf;
pub mod extract;
pub mod next;
pub mod password;
pub mod session;

pub use extract::{CurrentUser, WorkspaceCtx};
