-- Notifications, part two (issue 23). Workspace hooks: a chat channel (a Slack-compatible
-- incoming webhook) or a generic receiver of signed JSON, each with the event kinds it wants.
-- `secret` signs the generic payload (HMAC-SHA256, as the region webhooks); it is never shown
-- after it is set.
CREATE TABLE notification_hooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('chat', 'generic')),
    url TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE TABLE notification_hook_events (
    hook_id BIGINT NOT NULL REFERENCES notification_hooks(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest')),
    PRIMARY KEY (hook_id, kind)
);

-- A person's choice per event kind, where it differs from the default (on for what waits for
-- them, off for the rest: `notifications::email_by_default`).
CREATE TABLE notification_preferences (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest')),
    email BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- The outbox gains the new kinds and channels: a row goes to one person (`user_id`, email) or
-- to one hook (`hook_id`, chat or webhook). SQLite cannot change a CHECK, so the table is
-- rebuilt; nothing references it.
CREATE TABLE notifications_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest')),
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    package_id BIGINT REFERENCES release_packages(id) ON DELETE CASCADE,
    region_task_id BIGINT REFERENCES region_tasks(id) ON DELETE CASCADE,
    step_id BIGINT REFERENCES region_task_steps(id) ON DELETE CASCADE,
    actor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    hook_id BIGINT REFERENCES notification_hooks(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'chat', 'webhook')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    CHECK ((user_id IS NULL) <> (hook_id IS NULL))
);
INSERT INTO notifications_new (id, delivery_id, kind, workspace_id, package_id, region_task_id,
    step_id, actor_id, user_id, channel, status, attempts, next_attempt_at, lease_until,
    leased_by, last_error, created_at, sent_at)
SELECT id, delivery_id, kind, workspace_id, package_id, region_task_id, step_id, actor_id,
    user_id, channel, status, attempts, next_attempt_at, lease_until, leased_by, last_error,
    created_at, sent_at
FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (status, next_attempt_at, id);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE INDEX notifications_package ON notifications (package_id);
CREATE INDEX notifications_region_task ON notifications (region_task_id);
CREATE INDEX notifications_hook ON notifications (hook_id);
-- The Deliveries page: a workspace's deliveries, newest first.
CREATE INDEX notifications_workspace ON notifications (workspace_id, id);
