-- Notifications, part two (issue 23). Workspace hooks: a chat channel (a Slack-compatible
-- incoming webhook) or a generic receiver of signed JSON, each with the event kinds it wants.
-- `secret` signs the generic payload (HMAC-SHA256, as the region webhooks); it is never shown
-- after it is set.
CREATE TABLE notification_hooks (
    id BIGSERIAL PRIMARY KEY,
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
-- to one hook (`hook_id`, chat or webhook).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest'));
ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('email', 'chat', 'webhook'));
ALTER TABLE notifications ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN hook_id BIGINT REFERENCES notification_hooks(id) ON DELETE CASCADE;
ALTER TABLE notifications ADD CONSTRAINT notifications_one_recipient
    CHECK ((user_id IS NULL) <> (hook_id IS NULL));
CREATE INDEX notifications_hook ON notifications (hook_id);
-- The Deliveries page: a workspace's deliveries, newest first.
CREATE INDEX notifications_workspace ON notifications (workspace_id, id);
