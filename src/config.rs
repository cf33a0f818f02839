//! One typed `Settings` for the server. Every field comes from a flag or an environment
//! variable (see `cli.rs`); this module holds the values and their documented defaults.

pub use crate::worker::notify::SmtpUrl;

/// Everything `serve` needs to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to listen on. Default `127.0.0.1:8080` (`RELEASEDESK_BIND`).
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…`. Default `sqlite://data/releasedesk.db` (`DATABASE_URL`).
    pub database_url: String,
    /// Maximum pooled database connections per instance (`RELEASEDESK_DB_POOL_SIZE`). Default:
    /// see [`Settings::pool_size`].
    pub pool_size: Option<u32>,
    /// Mark cookies `Secure` (serve behind TLS). Default false (`RELEASEDESK_SECURE_COOKIES`).
    pub secure_cookies: bool,
    /// Base64 of at least 64 bytes used to sign and encrypt session cookies. When unset, a key is
    /// generated once and kept in the database so restarts and sibling instances share it
    /// (`RELEASEDESK_SESSION_KEY`).
    pub session_key: Option<String>,
    /// The origin browsers use to reach this server (`https://releases.example.com`). When set,
    /// state-changing requests whose `Origin` differs are refused; when unset, `Origin` must
    /// match the request's `Host` (`RELEASEDESK_PUBLIC_ORIGIN`).
    pub public_origin: Option<String>,
    /// HTTP worker threads. Default: the number of cores (`RELEASEDESK_WORKERS`).
    pub workers: Option<usize>,
    /// Argon2id memory cost in KiB. Default 19456 (OWASP's minimum for argon2id); tests lower it
    /// (`RELEASEDESK_ARGON2_MEMORY_KIB`).
    pub argon2_memory_kib: u32,
    /// Run the release worker in this instance. Default true; instances that only serve pages
    /// can turn it off (`RELEASEDESK_NO_WORKER=true`).
    pub run_worker: bool,
    /// Seconds a claimed job stays reserved without a heartbeat; after a crash, another worker
    /// (or this one, restarted) resumes the job once it expires. Default 60
    /// (`RELEASEDESK_JOB_LEASE_SECONDS`).
    pub job_lease_seconds: i64,
    /// Let webhooks reach loopback, link-local and private addresses (`localhost`, 10/8,
    /// 169.254.169.254, `::1`, fc00::/7, …; see `domain::webhook`). Default false: such
    /// destinations are refused when a region is saved and when a webhook is sent
    /// (`RELEASEDESK_ALLOW_PRIVATE_WEBHOOKS`).
    pub allow_private_webhooks: bool,
    /// Requests a minute one API token may send to this instance, on average; bursts of a
    /// fifth of it. Default 600 (`RELEASEDESK_API_RATE_LIMIT`).
    pub api_rate_limit: u32,
    /// The SMTP server notification email goes through (`RELEASEDESK_SMTP_URL`, its password
    /// in the URL or from `RELEASEDESK_SMTP_PASSWORD`). Default none: no email is sent, though
    /// the outbox still records each notification for any instance that does send. Never shown
    /// with its password (`SmtpUrl`'s `Debug`).
    pub smtp: Option<SmtpUrl>,
    /// The From address of notification email. Default `releasedesk <releasedesk@localhost>`
    /// (`RELEASEDESK_MAIL_FROM`).
    pub mail_from: String,
    /// Seconds the Insights page hands out the figures it read again instead of reading them
    /// anew, per workspace and period; 0 reads every time. Default 30
    /// (`RELEASEDESK_INSIGHTS_CACHE_SECONDS`).
    pub insights_cache_seconds: u64,
}

impl Settings {
    /// Settings for a server on `bind` with every other value at its default.
    pub fn new(bind: impl Into<String>, database_url: impl Into<String>) -> Self {
        Settings {
            bind: bind.into(),
            database_url: database_url.into(),
            pool_size: None,
            secure_cookies: false,
            session_key: None,
            public_origin: None,
            workers: None,
            argon2_memory_kib: crate::password::DEFAULT_MEMORY_KIB,
            run_worker: true,
            job_lease_seconds: crate::db::models::jobs::LEASE_SECONDS,
            allow_private_webhooks: false,
            api_rate_limit: DEFAULT_API_RATE_LIMIT,
            smtp: None,
            mail_from: DEFAULT_MAIL_FROM.into(),
            insights_cache_seconds: DEFAULT_INSIGHTS_CACHE_SECONDS,
        }
    }
}

/// How long Insights' figures are handed out again when not set.
pub const DEFAULT_INSIGHTS_CACHE_SECONDS: u64 = 30;

/// The From address of notification email when none is set.
pub const DEFAULT_MAIL_FROM: &str = "releasedesk <releasedesk@localhost>";

/// Requests a minute per API token when none is set.
pub const DEFAULT_API_RATE_LIMIT: u32 = 600;

/// The pool size on SQLite when none is set: its connections are open files in this process,
/// and reads run on the HTTP workers while one is free (`state::with_read_conn`); 4 gave a
/// worse p99 than 8 there (docs/BENCHMARKS.md).
pub const SQLITE_POOL_SIZE: u32 = 8;

impl Settings {
    /// The pool size: the one set, or the backend's default. On PostgreSQL every connection is
    /// a server process that wants a core while it works, so the default is twice this
    /// machine's cores, HikariCP's pool-sizing rule (cores × 2 + spindles) for a database on the
    /// same machine. More connections than that only queue backends, the server's threads and
    /// the clients for the cores, at a worse p99 for the same throughput (docs/BENCHMARKS.md).
    /// With the database on its own machine, set twice *its* cores.
    pub fn pool_size(&self) -> u32 {
        self.pool_size
            .unwrap_or_else(|| match crate::db::DatabaseUrl::parse(&self.database_url) {
                Ok(crate::db::DatabaseUrl::Postgres(_)) => {
                    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                    (2 * cores as u32).max(2)
                }
                _ => SQLITE_POOL_SIZE,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_defaults_by_backend_and_a_set_one_wins() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let mut pg = Settings::new("127.0.0.1:0", "postgres://u@h/db");
        assert_eq!(pg.pool_size(), (2 * cores).max(2));
        pg.pool_size = Some(3);
        assert_eq!(pg.pool_size(), 3);
        let sqlite = Settings::new("127.0.0.1:0", "sqlite://data/x.db");
        assert_eq!(sqlite.pool_size(), SQLITE_POOL_SIZE);
    }
}
