DELETE FROM notifications WHERE hook_id IS NOT NULL OR kind NOT IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting');
DROP INDEX notifications_workspace;
ALTER TABLE notifications DROP CONSTRAINT notifications_one_recipient;
ALTER TABLE notifications DROP COLUMN hook_id;
ALTER TABLE notifications ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check CHECK (channel IN ('email'));
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('review_requested', 'package_approved', 'package_rejected',
        'package_released', 'package_partially_failed', 'package_failed', 'checkpoint_waiting'));
DROP TABLE notification_preferences;
DROP TABLE notification_hook_events;
DROP TABLE notification_hooks;
