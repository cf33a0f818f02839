//! The command line: `migrate`, `user add` (password from stdin), `token create` (the secret
//! alone on stdout), and clear database-URL errors.

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
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));

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
fn token_create_prints_only_the_secret() {
    use releasedesk::db::models::{tokens, users};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let mut child = releasedesk()
        .args(["user", "add", "--username", "ci", "--database-url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long pipeline secret\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    let out = releasedesk()
        .args([
            "token",
            "create",
            "--username",
            "CI",
            "--name",
            "deploy pipeline",
            "--scope",
            "write",
            "--expires-in-days",
            "7",
            "--database-url",
            &url,
        ])
        // Logs go to stderr: even at debug, stdout holds the secret alone.
        .env("RELEASEDESK_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.strip_suffix('\n').expect("one line");
    assert!(
        releasedesk::domain::token::looks_like_secret(secret),
        "{stdout:?}"
    );
    assert!(!stderr.contains(secret), "the secret is printed once");

    let pool = releasedesk::db::connect(&url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let (user, token, _) = tokens::authenticate(&mut conn, secret, "127.0.0.1")
        .unwrap()
        .expect("the token works");
    assert_eq!(user.username, "ci");
    assert_eq!(token.name, "deploy pipeline");
    assert_eq!(token.scope.as_str(), "write");
    assert_eq!((token.expires_at - token.created_at).num_days(), 7);
    let ci = users::find_by_username(&mut conn, "ci")
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(tokens::list_for_user(&mut conn, ci).unwrap().len(), 1);
    drop(conn);

    for (args, expect) in [
        (
            vec!["--username", "nobody", "--name", "x", "--scope", "read"],
            "--username: there is no user nobody",
        ),
        (
            vec!["--username", "ci", "--name", " ", "--scope", "read"],
            "--name: Give the token a name",
        ),
        (
            vec!["--username", "ci", "--name", "x", "--scope", "admin"],
            "invalid value 'admin' for '--scope <SCOPE>'",
        ),
        (
            vec![
                "--username",
                "ci",
                "--name",
                "x",
                "--scope",
                "read",
                "--expires-in-days",
                "366",
            ],
            "366 is not in 1..=365",
        ),
        (vec!["--username", "ci", "--name", "x"], "--scope <SCOPE>"),
    ] {
        let out = releasedesk()
            .args(["token", "create", "--database-url", &url])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    let help = releasedesk().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("token"));
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

/// Seeds a small bench workspace and checks its shape; a second run refuses the same slug.
fn seed_bench_fills_a_workspace_on(url: &str) {
    use diesel::prelude::*;
    let out = releasedesk()
        .args([
            "seed-bench",
            "--database-url",
            url,
            "--tasks",
            "600",
            "--packages",
            "12",
            "--audit",
            "50",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("workspace bench seeded: 600 tasks"),
        "{stdout}"
    );

    let pool = releasedesk::db::connect(url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let statuses: Vec<(String, i64)> = diesel::sql_query(
        "SELECT status AS s, COUNT(*) AS n FROM release_tasks GROUP BY status ORDER BY status",
    )
    .load::<StatusCount>(&mut *conn)
    .unwrap()
    .into_iter()
    .map(|r| (r.s, r.n))
    .collect();
    let total: i64 = statuses.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 600);
    for s in ["pending", "released", "superseded", "revoked"] {
        assert!(statuses.iter().any(|(x, _)| x == s), "{s}: {statuses:?}");
    }
    let names: Vec<String> = diesel::sql_query(
        "SELECT name AS s, CAST(0 AS BIGINT) AS n FROM release_tasks ORDER BY id LIMIT 2",
    )
    .load::<StatusCount>(&mut *conn)
    .unwrap()
    .into_iter()
    .map(|r| r.s)
    .collect();
    assert_eq!(
        names,
        ["etl/daily_orders_000000.sql", "etl/weekly_sales_000001.sql"]
    );
    // The first package holds exactly 100 tasks; every package 1 to 100.
    let sizes: Vec<StatusCount> = diesel::sql_query(
        "SELECT name AS s, CAST(task_count AS BIGINT) AS n FROM release_packages ORDER BY id",
    )
    .load(&mut *conn)
    .unwrap();
    assert!((2..=12).contains(&sizes.len()), "{}", sizes.len());
    assert_eq!(sizes[0].n, 100);
    assert!(sizes.iter().all(|p| (1..=100).contains(&p.n)));

    let again = releasedesk()
        .args(["seed-bench", "--database-url", url, "--tasks", "10"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exists"), "{err}");
}

#[derive(diesel::QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    s: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[test]
fn seed_bench_fills_a_workspace_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    seed_bench_fills_a_workspace_on(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ));
}

#[test]
fn seed_bench_fills_a_workspace_on_postgres() {
    use diesel::prelude::*;
    let Some(admin) = std::env::var("RELEASEDESK_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("RELEASEDESK_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "RELEASEDESK_REQUIRE_POSTGRES=1 but RELEASEDESK_TEST_DATABASE_URL is not set"
        );
        eprintln!("skipped on PostgreSQL: RELEASEDESK_TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("rd_cli_{}_{}", std::process::id(), rand::random::<u32>());
    let mut conn = diesel::PgConnection::establish(&admin).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .unwrap();
    let prefix = admin.split('?').next().unwrap().rsplit_once('/').unwrap().0;
    seed_bench_fills_a_workspace_on(&format!("{prefix}/{name}"));
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .unwrap();
}
