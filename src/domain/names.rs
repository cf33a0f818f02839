//! Validated names and passwords. Each `parse` trims, checks and explains what is wrong in words
//! a person can act on.

use std::fmt;

/// A message about one form field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError(pub String);

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError(msg.into()))
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A sign-in name: 2–40 characters of `a-z 0-9 . _ -`, starting with a letter, stored lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return err("Enter a username.");
        }
        if s.chars().count() < 2 || s.chars().count() > 40 {
            return err("A username has 2 to 40 characters.");
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return err("A username starts with a letter.");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        {
            return err("Use only letters, digits, dots, dashes and underscores.");
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A workspace's URL slug: 2–40 characters of `a-z 0-9 -`, not starting or ending with `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceSlug(String);

impl WorkspaceSlug {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return err("Enter a slug for the workspace's address.");
        }
        if s.len() < 2 || s.len() > 40 {
            return err("A slug has 2 to 40 characters.");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return err("Use only lowercase letters, digits and dashes.");
        }
        if s.starts_with('-') || s.ends_with('-') {
            return err("A slug cannot start or end with a dash.");
        }
        Ok(WorkspaceSlug(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! free_text_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                let s = raw.trim();
                if s.is_empty() {
                    return err(concat!("Enter a ", $what, "."));
                }
                if s.chars().count() > 100 {
                    return err(concat!("A ", $what, " has at most 100 characters."));
                }
                if has_control(s) {
                    return err(concat!("A ", $what, " cannot contain control characters."));
                }
                Ok($name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

free_text_name!(
    /// A person's name as shown in tables: 1–100 printable characters.
    DisplayName,
    "display name"
);
free_text_name!(
    /// A workspace's human name: 1–100 printable characters.
    WorkspaceName,
    "workspace name"
);

/// Passwords people choose: 10–128 characters, not the username, not a well-known password.
pub fn validate_new_password(password: &str, username: &str) -> Result<(), FieldError> {
    const COMMON: &[&str] = &[
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "123456789",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "1q2w3e4r5t",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "changeme123",
        "administrator",
        "adminadmin",
        "passw0rd123",
        "football123",
        "0123456789",
        "abcdefghij",
        "trustno1234",
        "sunshine123",
    ];
    let n = password.chars().count();
    if n < 10 {
        return err("Use at least 10 characters.");
    }
    if n > 128 {
        return err("Use at most 128 characters.");
    }
    let lower = password.to_lowercase();
    if lower == username.to_lowercase()
        || lower.contains(&username.to_lowercase()) && username.len() >= 4
    {
        return err("A password cannot contain the username.");
    }
    if COMMON.contains(&lower.as_str())
        || lower
            .chars()
            .all(|c| c == lower.chars().next().unwrap_or(' '))
    {
        return err("This password is too common; choose another.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse("  Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("a").is_err());
        assert!(Username::parse("9lives").is_err());
        assert!(Username::parse("bob smith").is_err());
        assert!(Username::parse("<script>").is_err());
    }

    #[test]
    fn slugs_are_checked() {
        assert_eq!(
            WorkspaceSlug::parse("Data-Team").unwrap().as_str(),
            "data-team"
        );
        assert!(WorkspaceSlug::parse("-x").is_err());
        assert!(WorkspaceSlug::parse("a b").is_err());
    }

    #[test]
    fn passwords_follow_the_rules() {
        assert!(validate_new_password("short", "alice").is_err());
        assert!(validate_new_password("password123", "alice").is_err());
        assert!(validate_new_password("alice-is-great", "alice").is_err());
        assert!(validate_new_password("aaaaaaaaaaaa", "bob").is_err());
        assert!(validate_new_password("correct horse battery", "alice").is_ok());
    }

    #[test]
    fn free_text_refuses_control_characters() {
        assert!(DisplayName::parse("Alice\u{0007}").is_err());
        assert!(WorkspaceName::parse(&"x".repeat(101)).is_err());
        assert_eq!(WorkspaceName::parse("  Data  ").unwrap().as_str(), "Data");
    }
}
