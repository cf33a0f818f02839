//! The command line: `migrate`, `user add` (password from stdin), and clear database-URL errors.

use std::io::Write;
use std::process::{Command, Stdio};

fn releasedesk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_releasedesk"));
    cmd.env_remove("DATABASE_URL")
        .env("RELEASEDESK_LOG", "warn");
    cmd
}

#[test]
fn migrate_then_add_a_user_with_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let out = releasedesk()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration(s) applied"));

    let mut child = releasedesk()
        .args(["user", "add", "--username", "Ops", "--tenant-admin"])
        .env("DATABASE_URL", &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long operator secret\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "user ops created (tenant administrator)"
    );

    // A weak password is refused, and a second user with the same name too.
    for (name, password, expect) in [
        ("weak", "short\n", "password: Use at least 10 characters."),
        ("ops", "another long secret\n", "taken"),
    ] {
        let mut child = releasedesk()
            .args(["user", "add", "--username", name, "--database-url", &url])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn unknown_database_schemes_are_refused_with_a_clear_message() {
    let out = releasedesk()
        .args(["migrate", "--database-url", "mysql://root@localhost/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported DATABASE_URL scheme `mysql`"),
        "{err}"
    );
}

#[test]
fn postgres_connection_errors_are_reported_as_they_are() {
    // Port 1 has no server: the message must be libpq's, not a generic one.
    let out = releasedesk()
        .args([
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/nothing",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to the postgres database"),
        "{err}"
    );
    assert!(
        err.contains("127.0.0.1") || err.contains("Connection refused"),
        "{err}"
    );
}
