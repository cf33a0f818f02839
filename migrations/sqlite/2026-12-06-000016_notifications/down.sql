DROP TABLE notifications;
ALTER TABLE users DROP COLUMN email;
