//! The command line: `serve`, `migrate`, `backup`, `user add`, `token create`. Every flag can
//! also come from an environment variable (shown in `--help`).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::Settings;
use crate::db;
use crate::db::models::tokens::{self, CreatedBy, NewToken};
use crate::db::models::users::{self, NewUser};
use crate::domain::token::{DEFAULT_DAYS, MAX_DAYS};
use crate::domain::{DisplayName, TokenName, TokenScope, Username, validate_new_password};
use crate::error::AppError;
use crate::password::{DEFAULT_MEMORY_KIB, Hasher};

#[derive(Parser)]
#[command(name = "releasedesk", version, about = "A self-hosted release console")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/releasedesk.db"
    )]
    database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrations are applied first).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "RELEASEDESK_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Seed demo users and a `demo` workspace into an empty database.
        #[arg(long, env = "RELEASEDESK_DEMO", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
        demo: bool,
        /// Password of every demo user (random and printed once when unset).
        #[arg(long, env = "RELEASEDESK_DEMO_PASSWORD", hide_env_values = true)]
        demo_password: Option<String>,
        /// Mark cookies Secure and send HSTS (when served over TLS).
        #[arg(long, env = "RELEASEDESK_SECURE_COOKIES", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
        secure_cookies: bool,
        /// Base64 of at least 64 bytes; by default generated once and kept in the database.
        #[arg(long, env = "RELEASEDESK_SESSION_KEY", hide_env_values = true)]
        session_key: Option<String>,
        /// The origin browsers use, e.g. https://releases.example.com (for the CSRF origin check).
        #[arg(long, env = "RELEASEDESK_PUBLIC_ORIGIN")]
        public_origin: Option<String>,
        /// HTTP worker threads (default: number of cores).
        #[arg(long, env = "RELEASEDESK_WORKERS")]
        workers: Option<usize>,
        /// Pooled database connections (default: 8 on SQLite, twice the cores on PostgreSQL).
        #[arg(long, env = "RELEASEDESK_DB_POOL_SIZE")]
        pool_size: Option<u32>,
        /// Do not run the release worker in this instance (serve pages only).
        #[arg(long, env = "RELEASEDESK_NO_WORKER", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
        no_worker: bool,
        /// Argon2id memory cost in KiB for new password hashes.
        #[arg(long, env = "RELEASEDESK_ARGON2_MEMORY_KIB", default_value_t = DEFAULT_MEMORY_KIB)]
        argon2_memory_kib: u32,
        /// Seconds a claimed release job stays reserved without a heartbeat (crash recovery time).
        #[arg(long, env = "RELEASEDESK_JOB_LEASE_SECONDS", default_value_t = crate::db::models::jobs::LEASE_SECONDS, value_parser = clap::value_parser!(i64).range(1..=3600))]
        job_lease_seconds: i64,
        /// Let region webhooks call loopback, link-local and private addresses (refused by
        /// default: they reach this server's own network).
        #[arg(long, env = "RELEASEDESK_ALLOW_PRIVATE_WEBHOOKS", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
        allow_private_webhooks: bool,
        /// Requests a minute one API token may send to this instance (bursts of a fifth of it).
        #[arg(long, env = "RELEASEDESK_API_RATE_LIMIT", default_value_t = crate::config::DEFAULT_API_RATE_LIMIT, value_parser = clap::value_parser!(u32).range(1..))]
        api_rate_limit: u32,
        /// SMTP server for notification email: smtp://HOST:PORT, smtps://USER@HOST,
        /// smtp://HOST:587?tls=required (none: no email is sent).
        #[arg(long, env = "RELEASEDESK_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The SMTP password, when the URL names a user but no password.
        #[arg(long, env = "RELEASEDESK_SMTP_PASSWORD", hide_env_values = true)]
        smtp_password: Option<String>,
        /// The From address of notification email.
        #[arg(long, env = "RELEASEDESK_MAIL_FROM", default_value = crate::config::DEFAULT_MAIL_FROM)]
        mail_from: String,
        /// Seconds the Insights page hands out the figures it read again (0: read every time).
        #[arg(long, env = "RELEASEDESK_INSIGHTS_CACHE_SECONDS", default_value_t = crate::config::DEFAULT_INSIGHTS_CACHE_SECONDS, value_parser = clap::value_parser!(u64).range(0..=3600))]
        insights_cache_seconds: u64,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy the SQLite database to a new file while servers keep running (for PostgreSQL it
    /// explains how to use pg_dump instead). Restore by pointing DATABASE_URL at the copy.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The new file to write; an existing file is never overwritten.
        path: std::path::PathBuf,
    },
    /// Fill a new workspace with bulk benchmark data (see docs/BENCHMARKS.md).
    SeedBench {
        #[command(flatten)]
        db: DbArgs,
        /// Slug of the workspace to create.
        #[arg(long, default_value = "bench")]
        workspace: String,
        /// Release tasks (one per script version; about three versions per script).
        #[arg(long, default_value_t = 10_000)]
        tasks: usize,
        /// Release packages of 1 to 100 tasks each, over the oldest tasks.
        #[arg(long, default_value_t = 1_000)]
        packages: usize,
        /// Audit log rows.
        #[arg(long, default_value_t = 10_000)]
        audit: usize,
        /// Password of every bench user (`bench-admin`, `rev1`…`rev3`, `dev001`…`dev200`).
        #[arg(
            long,
            env = "RELEASEDESK_BENCH_PASSWORD",
            default_value = "bench-password-1",
            hide_env_values = true
        )]
        password: String,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage personal access tokens of the JSON API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an access token for a user and print its secret, alone on one line of standard
    /// output (for scripts: `TOKEN=$(releasedesk token create …)`). It is shown this once; only
    /// its hash is kept. The token acts as the user, within its scope.
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// The user the token acts as (active).
        #[arg(long)]
        username: String,
        /// What the token is for, as lists show it ("deploy pipeline").
        #[arg(long)]
        name: String,
        /// `read` (changes nothing) or `write` (what the user may do).
        #[arg(long, value_parser = ["read", "write"])]
        scope: String,
        /// Days until the token expires (1 to 365).
        #[arg(long, default_value_t = DEFAULT_DAYS, value_parser = clap::value_parser!(i64).range(1..=MAX_DAYS))]
        expires_in_days: i64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input (never from the command line).
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        /// Shown in tables; defaults to the username.
        #[arg(long)]
        display_name: Option<String>,
        /// May do everything in every workspace and manage users and workspaces.
        #[arg(long)]
        tenant_admin: bool,
    },
}

/// Logs go to standard output, except for a command whose output is data for a script
/// (`token create`): its logs go to standard error.
fn init_logging(to_stderr: bool) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter =
        EnvFilter::try_from_env("RELEASEDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("RELEASEDESK_LOG_FORMAT").is_ok_and(|v| v == "json");
    let writer = if to_stderr {
        BoxMakeWriter::new(std::io::stderr)
    } else {
        BoxMakeWriter::new(std::io::stdout)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    if json {
        builder.json().init()
    } else {
        builder.init()
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Token { .. }));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            db,
            bind,
            demo,
            demo_password,
            secure_cookies,
            session_key,
            public_origin,
            workers,
            pool_size,
            no_worker,
            argon2_memory_kib,
            job_lease_seconds,
            allow_private_webhooks,
            api_rate_limit,
            smtp_url,
            smtp_password,
            mail_from,
            insights_cache_seconds,
        } => {
            let smtp = smtp_url
                .map(|url| crate::config::SmtpUrl::parse(&url, smtp_password.as_deref()))
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?;
            let settings = Settings {
                bind,
                database_url: db.database_url,
                pool_size,
                secure_cookies,
                session_key,
                public_origin,
                workers,
                argon2_memory_kib,
                run_worker: !no_worker,
                job_lease_seconds,
                allow_private_webhooks,
                api_rate_limit,
                smtp,
                mail_from,
                insights_cache_seconds,
            };
            let app = crate::startup::Application::build(&settings)?;
            let url = format!("http://{}", settings.bind.replace("0.0.0.0", "127.0.0.1"));
            println!("releasedesk is listening: open {url}");
            if demo {
                let hasher = Hasher::new(settings.argon2_memory_kib);
                let mut conn = app.pool.get()?;
                crate::demo::seed_and_print(&mut conn, &hasher, demo_password)?;
            }
            crate::startup::serve(app)
        }
        Command::Migrate { db } => {
            let pool = db::connect(&db.database_url, 1)?;
            let applied = db::migrate(&mut *pool.get()?)?;
            println!(
                "{} applied",
                crate::domain::count(applied as i64, "migration", "migrations")
            );
            Ok(())
        }
        Command::Backup { db, path } => {
            let bytes = db::backup(&db.database_url, &path)?;
            println!(
                "backup written to {} ({bytes} bytes); restore with DATABASE_URL=sqlite://{}",
                path.display(),
                path.display()
            );
            Ok(())
        }
        Command::SeedBench {
            db,
            workspace,
            tasks,
            packages,
            audit,
            password,
        } => {
            crate::domain::WorkspaceSlug::parse(&workspace)
                .map_err(|e| anyhow::anyhow!("--workspace: {e}"))?;
            if tasks == 0 || tasks > 10_000_000 {
                anyhow::bail!("--tasks is between 1 and 10,000,000");
            }
            let pool = db::connect(&db.database_url, 1)?;
            let mut conn = pool.get()?;
            db::migrate(&mut conn)?;
            let spec = crate::bench_seed::BenchSpec {
                workspace,
                tasks,
                packages,
                audit,
                password_hash: Hasher::new(DEFAULT_MEMORY_KIB).hash(&password)?,
            };
            let report = crate::bench_seed::seed(&mut conn, &spec).map_err(|e| match e {
                // The generic "something went wrong" page text would hide the cause here.
                crate::error::AppError::Internal(cause) => cause,
                other => anyhow::anyhow!("{other}"),
            })?;
            println!(
                "workspace {} seeded: {} tasks, {} rows in {:.1} s",
                spec.workspace, spec.tasks, report.rows, report.seconds
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    db,
                    username,
                    display_name,
                    tenant_admin,
                },
        } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
            let display_name =
                DisplayName::parse(display_name.as_deref().unwrap_or(username.as_str()))
                    .map_err(|e| anyhow::anyhow!("--display-name: {e}"))?;
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!(
                    "Password for {} (input is visible; pipe it to hide it): ",
                    username.as_str()
                );
            }
            let mut password = String::new();
            stdin.lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            validate_new_password(password, username.as_str())
                .map_err(|e| anyhow::anyhow!("password: {e}"))?;
            let pool = db::connect(&db.database_url, 1)?;
            let mut conn = pool.get()?;
            db::migrate(&mut conn)?;
            let hash = Hasher::new(DEFAULT_MEMORY_KIB).hash(password)?;
            let user = users::create(
                &mut conn,
                None,
                NewUser {
                    username: &username,
                    display_name: &display_name,
                    password_hash: &hash,
                    tenant_admin,
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "user {} created{}",
                user.username,
                if tenant_admin {
                    " (tenant administrator)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    db,
                    username,
                    name,
                    scope,
                    expires_in_days,
                },
        } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
            let name = TokenName::parse(&name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let scope =
                TokenScope::from_field(&scope).map_err(|e| anyhow::anyhow!("--scope: {e}"))?;
            let pool = db::connect(&db.database_url, 1)?;
            let mut conn = pool.get()?;
            db::migrate(&mut conn)?;
            let user = users::find_by_username(&mut conn, username.as_str())?.ok_or_else(|| {
                anyhow::anyhow!("--username: there is no user {}", username.as_str())
            })?;
            let new = NewToken {
                name,
                scope,
                days: expires_in_days,
            };
            let created = tokens::create(&mut conn, user.id, &new, CreatedBy::CommandLine)
                .map_err(|e| match e {
                    AppError::Field { field, message } => {
                        anyhow::anyhow!("--{}: {message}", field.replace('_', "-"))
                    }
                    AppError::Internal(cause) => cause,
                    other => anyhow::anyhow!("{other}"),
                })?;
            println!("{}", created.secret);
            Ok(())
        }
    }
}
