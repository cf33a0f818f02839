//! Who is asking and whether to believe them: the session (identity, CSRF
//! token, flash message), the CSRF middleware, the extractors handlers use (`CurrentUser`,
//! `WorkspaceCtx`), where a sign-in may send the browser next (`SafeNext`), and a session's
//! browser in a few words (`device`).

pub mod csrf;
pub mod device;
pub mod extract;
pub mod next;
pub mod session;

pub use extract::{CurrentUser, WorkspaceCtx};
