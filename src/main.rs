//! The `releasedesk` binary: parse the command line and hand over to the library.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    releasedesk::cli::main()
}

/// glibc gives each thread that allocates under contention its own arena (up to 8 per core) and
/// rarely returns their freed pages. Requests run on actix workers and on the blocking pool's
/// many threads, so a soak grew the server to 212 MiB RSS with the defaults
/// (docs/RELIABILITY.md). Two arenas, and a fixed 1 MiB mmap threshold so that big short-lived
/// buffers (an argon2 hash takes 19 MiB) go back to the system when freed instead of raising
/// glibc's dynamic threshold and staying cached in an arena. Set before any thread starts;
/// the `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` environment variables still win.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tunables; no other thread exists yet.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}
