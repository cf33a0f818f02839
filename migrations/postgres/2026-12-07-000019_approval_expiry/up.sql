-- Approval expiry (issue 24). A workspace may let a wait for approval expire after a while
-- (`approval_expiry_seconds`, NULL: never; 1 hour to 30 days). The deadline is fixed when the
-- wait begins (`release_packages.expires_at` when a package is created pending approval,
-- `region_task_steps.expires_at` when a release starts waiting at a Manual Approval or Manual
-- Trigger), so changing the setting later moves no deadline already set. The worker's sweep
-- expires what is due: a package becomes `expired`, a checkpoint fails its region task.
-- Notification kinds gain `package_expired` and `freeze_overridden`.
ALTER TABLE workspaces ADD COLUMN approval_expiry_seconds INTEGER
    CHECK (approval_expiry_seconds BETWEEN 3600 AND 2592000);

ALTER TABLE region_task_steps ADD COLUMN expires_at TIMESTAMP;
-- The sweep's read: waiting checkpoints whose deadline has passed.
CREATE INDEX region_task_steps_expiry ON region_task_steps (status, expires_at);

ALTER TABLE release_packages ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE release_packages DROP CONSTRAINT release_packages_status_check;
ALTER TABLE release_packages ADD CONSTRAINT release_packages_status_check CHECK (status IN (
    'pending_approval', 'releasing', 'released', 'partially_failed', 'failed', 'rejected',
    'revoked', 'expired'));
-- The sweep's read: packages pending approval whose deadline has passed.
CREATE INDEX release_packages_expiry ON release_packages (status, expires_at);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'review_requested', 'package_approved', 'package_rejected', 'package_released',
    'package_partially_failed', 'package_failed', 'checkpoint_waiting', 'checkpoint_decided',
    'region_task_released', 'region_task_failed', 'region_task_rolled_back',
    'region_task_rollback_failed', 'digest', 'package_expired', 'freeze_overridden'));
ALTER TABLE notification_hook_events DROP CONSTRAINT notification_hook_events_kind_check;
ALTER TABLE notification_hook_events ADD CONSTRAINT notification_hook_events_kind_check CHECK (kind IN (
    'review_requested', 'package_approved', 'package_rejected', 'package_released',
    'package_partially_failed', 'package_failed', 'checkpoint_waiting', 'checkpoint_decided',
    'region_task_released', 'region_task_failed', 'region_task_rolled_back',
    'region_task_rollback_failed', 'digest', 'package_expired', 'freeze_overridden'));
ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_kind_check;
ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_kind_check CHECK (kind IN (
    'review_requested', 'package_approved', 'package_rejected', 'package_released',
    'package_partially_failed', 'package_failed', 'checkpoint_waiting', 'checkpoint_decided',
    'region_task_released', 'region_task_failed', 'region_task_rolled_back',
    'region_task_rollback_failed', 'digest', 'package_expired', 'freeze_overridden'));
