-- Approval expiry (issue 24). A workspace may let a wait for approval expire after a while
-- (`approval_expiry_seconds`, NULL: never; 1 hour to 30 days). The deadline is fixed when the
-- wait begins (`release_packages.expires_at` when a package is created pending approval,
-- `region_task_steps.expires_at` when a release starts waiting at a Manual Approval or Manual
-- Trigger), so changing the setting later moves no deadline already set. The worker's sweep
-- expires what is due: a package becomes `expired`, a checkpoint fails its region task.
-- Notification kinds gain `package_expired` and `freeze_overridden`.
--
-- SQLite cannot change a CHECK, so `release_packages`, `notifications`,
-- `notification_hook_events` and `notification_preferences` are rebuilt. Other tables reference
-- `release_packages` by foreign key, so foreign keys are off during the rebuild (outside any
-- transaction: `metadata.toml`), checked before the commit, and on again after it: SQLite's
-- documented procedure for a table change ("Making Other Kinds Of Table Schema Changes").
PRAGMA foreign_keys = OFF;
BEGIN;

ALTER TABLE workspaces ADD COLUMN approval_expiry_seconds INTEGER
    CHECK (approval_expiry_seconds BETWEEN 3600 AND 2592000);

ALTER TABLE region_task_steps ADD COLUMN expires_at TIMESTAMP;
-- The sweep's read: waiting checkpoints whose deadline has passed.
CREATE INDEX region_task_steps_expiry ON region_task_steps (status, expires_at);

CREATE TABLE release_packages_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    applicant_id BIGINT NOT NULL REFERENCES users(id),
    comment TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending_approval', 'releasing', 'released', 'partially_failed', 'failed', 'rejected', 'revoked', 'expired')),
    needs_approval BOOLEAN NOT NULL,
    quorum TEXT NOT NULL CHECK (quorum IN ('any', 'all')),
    applied_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    released_by BIGINT REFERENCES users(id),
    release_started_at TIMESTAMP,
    released_at TIMESTAMP,
    task_count INTEGER NOT NULL CHECK (task_count BETWEEN 0 AND 100),
    done_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMP,
    UNIQUE (id, applicant_id)
);
INSERT INTO release_packages_new (id, workspace_id, name, applicant_id, comment, status,
    needs_approval, quorum, applied_at, decided_by, decided_at, released_by, release_started_at,
    released_at, task_count, done_count, failed_count)
SELECT id, workspace_id, name, applicant_id, comment, status, needs_approval, quorum,
    applied_at, decided_by, decided_at, released_by, release_started_at, released_at,
    task_count, done_count, failed_count
FROM release_packages;
-- Dropping the table drops its indexes and its triggers (the FTS ones of 000005).
DROP TABLE release_packages;
ALTER TABLE release_packages_new RENAME TO release_packages;
-- 000002
CREATE INDEX release_packages_ws_status ON release_packages (workspace_id, status, applied_at);
CREATE INDEX release_packages_ws_applied ON release_packages (workspace_id, applied_at);
-- 000010 (with statistics, as there)
CREATE INDEX release_packages_ws_lower_name ON release_packages (workspace_id, lower(name));
ANALYZE release_packages_ws_lower_name;
-- 000005: the external-content FTS table keeps its rows (the ids are the same); its triggers
-- went with the old table.
CREATE TRIGGER release_packages_fts_insert AFTER INSERT ON release_packages BEGIN
    INSERT INTO release_packages_fts(rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER release_packages_fts_delete AFTER DELETE ON release_packages BEGIN
    INSERT INTO release_packages_fts(release_packages_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER release_packages_fts_update AFTER UPDATE OF name ON release_packages BEGIN
    INSERT INTO release_packages_fts(release_packages_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO release_packages_fts(rowid, name) VALUES (new.id, new.name);
END;
-- The sweep's read: packages pending approval whose deadline has passed.
CREATE INDEX release_packages_expiry ON release_packages (status, expires_at);

CREATE TABLE notification_hook_events_new (
    hook_id BIGINT NOT NULL REFERENCES notification_hooks(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest',
        'package_expired', 'freeze_overridden')),
    PRIMARY KEY (hook_id, kind)
);
INSERT INTO notification_hook_events_new (hook_id, kind)
SELECT hook_id, kind FROM notification_hook_events;
DROP TABLE notification_hook_events;
ALTER TABLE notification_hook_events_new RENAME TO notification_hook_events;

CREATE TABLE notification_preferences_new (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest',
        'package_expired', 'freeze_overridden')),
    email BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);
INSERT INTO notification_preferences_new (user_id, kind, email)
SELECT user_id, kind, email FROM notification_preferences;
DROP TABLE notification_preferences;
ALTER TABLE notification_preferences_new RENAME TO notification_preferences;

CREATE TABLE notifications_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting',
        'checkpoint_decided', 'region_task_released', 'region_task_failed',
        'region_task_rolled_back', 'region_task_rollback_failed', 'digest',
        'package_expired', 'freeze_overridden')),
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
    step_id, actor_id, user_id, hook_id, channel, status, attempts, next_attempt_at, lease_until,
    leased_by, last_error, created_at, sent_at)
SELECT id, delivery_id, kind, workspace_id, package_id, region_task_id, step_id, actor_id,
    user_id, hook_id, channel, status, attempts, next_attempt_at, lease_until, leased_by,
    last_error, created_at, sent_at
FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
-- 000016 and 000017
CREATE INDEX notifications_due ON notifications (status, next_attempt_at, id);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE INDEX notifications_package ON notifications (package_id);
CREATE INDEX notifications_region_task ON notifications (region_task_id);
CREATE INDEX notifications_hook ON notifications (hook_id);
CREATE INDEX notifications_workspace ON notifications (workspace_id, id);

-- A row the rebuild left pointing nowhere aborts the migration before the commit: the
-- CHECK fails (`PRAGMA foreign_key_check` lists the rows themselves).
CREATE TEMP TABLE expiry_fk_violations (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO expiry_fk_violations SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE expiry_fk_violations;
COMMIT;
PRAGMA foreign_keys = ON;
