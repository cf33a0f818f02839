//! Free text people write: a comment beside a decision or a release, a reason, a description,
//! a package's name. Each has one limit and one message, checked once, when the form is read:
//! the model functions that store them take these types, never a bare `&str`, so no path (a
//! page, an import, a future API) can store one that is too long. Whether a comment may be
//! empty is the model's rule, not the type's (a checkpoint decision needs one, an approval not).

use super::FieldError;
use super::limits::{MAX_PACKAGE_NAME_CHARS, MAX_TEXT_CHARS};

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $message:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Trimmed; refused when longer than the limit.
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                let text = raw.trim();
                if text.chars().count() > $max {
                    return Err(FieldError(format!($message, $max)));
                }
                Ok(Self(text.to_owned()))
            }
            /// Trimmed and cut to the limit: for text from a file, where refusing the whole
            /// import over a long description would help nobody.
            pub fn truncated(raw: &str) -> Self {
                Self(raw.trim().chars().take($max).collect::<String>().trim_end().to_owned())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(raw: &str) -> Result<Self, FieldError> {
                Self::parse(raw)
            }
        }
    };
}

bounded_text!(
    /// A comment on a release, a review or a checkpoint decision, or a rollback's reason.
    Comment,
    MAX_TEXT_CHARS,
    "A comment has at most {} characters."
);

bounded_text!(
    /// What a workspace, script or region task is for.
    Description,
    MAX_TEXT_CHARS,
    "A description has at most {} characters."
);

bounded_text!(
    /// The name a release gives its package (empty: the model names it after its first task).
    PackageName,
    MAX_PACKAGE_NAME_CHARS,
    "A package name has at most {} characters."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_by_characters_not_bytes() {
        assert_eq!(Comment::parse("  ok \n").unwrap().as_str(), "ok");
        assert!(Comment::parse(&"é".repeat(MAX_TEXT_CHARS)).is_ok());
        let long = Comment::parse(&"x".repeat(MAX_TEXT_CHARS + 1)).unwrap_err();
        assert_eq!(long.0, "A comment has at most 2000 characters.");
        assert!(PackageName::parse(&"p".repeat(121)).is_err());
        assert!(Description::parse("").unwrap().is_empty());
    }
}
