-- Notifications (issue 23, `db::models::notifications`, `notify`). A person's address for
-- email; empty means "send me no email".
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- The outbox: one row per message to one person over one channel, written in the transaction
-- that makes the change it tells of, so a change and its notifications commit together. The
-- sender claims due rows with a lease (`lease_until`, `leased_by`), marks a row `sent` after the
-- SMTP server accepted it, and retries a failure with backoff until `failed`. `delivery_id` is
-- stable across attempts and goes in the message's Message-ID, so a repeat is detectable.
-- The subject columns name the item the message links to (a package, or a region task's step).
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting')),
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    package_id BIGINT REFERENCES release_packages(id) ON DELETE CASCADE,
    region_task_id BIGINT REFERENCES region_tasks(id) ON DELETE CASCADE,
    step_id BIGINT REFERENCES region_task_steps(id) ON DELETE CASCADE,
    actor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('email')),
    -- `skipped`: not sent because the item was decided before the message went out (why in
    -- last_error), or it waited too long for a sender.
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
-- The sender's claim: due pending rows, oldest first.
CREATE INDEX notifications_due ON notifications (status, next_attempt_at, id);
-- A person's notifications, newest first (the Account page, later).
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE INDEX notifications_package ON notifications (package_id);
CREATE INDEX notifications_region_task ON notifications (region_task_id);
