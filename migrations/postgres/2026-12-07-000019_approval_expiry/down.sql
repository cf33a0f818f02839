-- Back to 000018: expired packages become revoked (their tasks went back to pending already),
-- rows of the two new notification kinds are deleted, and the deadlines and the setting go.
DELETE FROM notifications WHERE kind IN ('package_expired', 'freeze_overridden');
DELETE FROM notification_hook_events WHERE kind IN ('package_expired', 'freeze_overridden');
DELETE FROM notification_preferences WHERE kind IN ('package_expired', 'freeze_overridden');
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'review_requested', 'package_approved', 'package_rejected', 'package_released',
    'package_partially_failed', 'package_failed', 'checkpoint_waiting', 'checkpoint_decided',
    'region_task_released', 'region_task_failed', 'region_task_rolled_back',
    'region_task_rollback_failed', 'digest'));
ALTER TABLE notification_hook_events DROP CONSTRAINT notification_hook_events_kind_check;
ALTER TABLE notification_hook_events ADD CONSTRAINT notification_hook_events_kind_check CHECK (kind IN (
    'review_requested', 'package_approved', 'package_rejected', 'package_released',
    'package_partially_failed', 'package_failed', 'checkpoint_waiting', 'checkpoint_decided',
    'region_task_released', 'region_task_failed', 'region_task_rolled_back',
    'region_task_rollback_failed', 'digest'));
ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_kind_check;
ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_kind_check CHECK (kind IN (
    'review_requested', 'package_approved', 'package_rejected', 'package_released',
    'package_partially_failed', 'package_failed', 'checkpoint_waiting', 'checkpoint_decided',
    'region_task_released', 'region_task_failed', 'region_task_rolled_back',
    'region_task_rollback_failed', 'digest'));

DROP INDEX release_packages_expiry;
UPDATE release_packages SET status = 'revoked' WHERE status = 'expired';
ALTER TABLE release_packages DROP CONSTRAINT release_packages_status_check;
ALTER TABLE release_packages ADD CONSTRAINT release_packages_status_check CHECK (status IN (
    'pending_approval', 'releasing', 'released', 'partially_failed', 'failed', 'rejected',
    'revoked'));
ALTER TABLE release_packages DROP COLUMN expires_at;

DROP INDEX region_task_steps_expiry;
ALTER TABLE region_task_steps DROP COLUMN expires_at;
ALTER TABLE workspaces DROP COLUMN approval_expiry_seconds;
