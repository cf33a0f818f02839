ALTER TABLE users DROP COLUMN test_email_at;
ALTER TABLE users DROP COLUMN digest_hour;
