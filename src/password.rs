//! Argon2id password hashing. Hashing is deliberately slow, so callers run it on the blocking
//! pool (`web::block`), never on the async executor. Each hash takes `memory_kib` of memory, so
//! at most one hash per core runs at once: a burst of sign-ins waits its turn instead of
//! allocating 19 MiB per request (and leaving the allocator holding it).

use std::sync::{Arc, Condvar, Mutex, OnceLock};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's minimum memory cost for argon2id (19 MiB), with 2 passes and 1 lane.
pub const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;

/// Hashes and verifies passwords with the configured cost. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    memory_kib: u32,
    /// A hash of a random password, verified against when the username is unknown so that the
    /// answer takes as long as for a known user.
    dummy: Arc<OnceLock<String>>,
    permits: Arc<Permits>,
}

/// A counting semaphore for the blocking pool's threads.
struct Permits {
    free: Mutex<usize>,
    returned: Condvar,
}

/// One running hash; its permit returns on drop.
struct Permit<'a>(&'a Permits);

impl Permits {
    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.returned.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.returned.notify_one();
    }
}

impl Hasher {
    pub fn new(memory_kib: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hasher {
            memory_kib: memory_kib.max(8),
            dummy: Arc::default(),
            permits: Arc::new(Permits {
                free: Mutex::new(cores),
                returned: Condvar::new(),
            }),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, 2, 1, None).unwrap_or(Params::DEFAULT);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire();
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    }

    /// Whether `password` matches `hash` (with the parameters stored in the hash).
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        let _permit = self.permits.acquire();
        Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok()
    }

    /// Spends the same time as `verify` and always fails.
    pub fn verify_dummy(&self, password: &str) -> bool {
        let dummy = self.dummy.get_or_init(|| {
            let random: [u8; 16] = rand::random();
            self.hash(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                random,
            ))
            .unwrap_or_default()
        });
        let _ = self.verify(password, dummy);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = Hasher::new(64);
        let hash = h.hash("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=2,p=1$"), "{hash}");
        assert!(h.verify("correct horse battery", &hash));
        assert!(!h.verify("wrong", &hash));
        assert!(!h.verify_dummy("correct horse battery"));
        assert_ne!(hash, h.hash("correct horse battery").unwrap(), "salted");
    }
}
