-- Notifications, part three (issue 23, `db::models::preferences`). A person's daily digest of
-- what waits for them comes at `digest_hour` o'clock UTC (NULL: no digest, the default).
-- `test_email_at` is when they last had a test email sent from the Account page, which holds
-- the next one back for a while (one guarded UPDATE, so two clicks or two instances send one).
ALTER TABLE users ADD COLUMN digest_hour INTEGER CHECK (digest_hour BETWEEN 0 AND 23);
ALTER TABLE users ADD COLUMN test_email_at TIMESTAMP;
