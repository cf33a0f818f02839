CREATE TABLE notifications_old (
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
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO notifications_old SELECT id, delivery_id, kind, workspace_id, package_id,
    region_task_id, step_id, actor_id, user_id, channel, status, attempts, next_attempt_at,
    lease_until, leased_by, last_error, created_at, sent_at
FROM notifications WHERE hook_id IS NULL AND kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting');
DROP TABLE notifications;
ALTER TABLE notifications_old RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (status, next_attempt_at, id);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE INDEX notifications_package ON notifications (package_id);
CREATE INDEX notifications_region_task ON notifications (region_task_id);
DROP TABLE notification_preferences;
DROP TABLE notification_hook_events;
DROP TABLE notification_hooks;
