//! One typed `Settings` for the server. Every field comes from a flag or an environment
//! variable (see `cli.rs`); this module holds the values and their documented defaults.

/// Everything `serve` needs to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to listen on. Default `127.0.0.1:8080` (`RELEASEDESK_BIND`).
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…`. Default `sqlite://data/releasedesk.db` (`DATABASE_URL`).
    pub database_url: String,
    /// Maximum pooled database connections per instance. Default 8 (`RELEASEDESK_DB_POOL_SIZE`).
    pub pool_size: u32,
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
}

impl Settings {
    /// Settings for a server on `bind` with every other value at its default.
    pub fn new(bind: impl Into<String>, database_url: impl Into<String>) -> Self {
        Settings {
            bind: bind.into(),
            database_url: database_url.into(),
            pool_size: 8,
            secure_cookies: false,
            session_key: None,
            public_origin: None,
            workers: None,
            argon2_memory_kib: crate::auth::password::DEFAULT_MEMORY_KIB,
            run_worker: true,
            job_lease_seconds: crate::db::models::jobs::LEASE_SECONDS,
        }
    }
}
