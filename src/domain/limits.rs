//! The size limits of what people send, in one place: the edge (forms, imports) and the data
//! layer read them from here.

/// Largest url-encoded form body read (the CSRF guard reads the body to find its token).
pub const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The largest script accepted, from the editor or an import (bytes).
pub const MAX_SCRIPT_BYTES: usize = 1024 * 1024;

/// The longest comment, reason or description (characters).
pub const MAX_TEXT_CHARS: usize = 2000;

/// The longest package name (characters).
pub const MAX_PACKAGE_NAME_CHARS: usize = 120;
