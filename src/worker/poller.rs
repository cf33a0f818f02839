//! A background thread that repeats one turn of work until it is stopped: the outbox senders
//! (`notify::spawn_sender`, `hooks::spawn_sender`). A turn answers `Ok(true)` when it did something
//! (the next one starts at once), `Ok(false)` when there was nothing to do (the thread waits
//! `idle`), or an error (logged; the thread waits four times as long). `stop` lets the turn in
//! flight finish, so a message being sent is recorded before the process exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::AppError;

pub struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Poller {
    /// Starts the thread `name`; `what` names it in the log when a turn fails.
    pub fn spawn(
        name: &str,
        what: &'static str,
        idle: Duration,
        mut turn: impl FnMut() -> Result<bool, AppError> + Send + 'static,
    ) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match turn() {
                        Ok(true) => {}
                        Ok(false) => std::thread::sleep(idle),
                        Err(e) => {
                            tracing::warn!(error = %e, "{what}");
                            std::thread::sleep(idle * 4);
                        }
                    }
                }
            })
            .ok();
        Poller { stop, thread }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop();
    }
}
