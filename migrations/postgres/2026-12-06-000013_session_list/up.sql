-- The Account page lists a user's live sessions: when each began, when it was last used
-- (written at most once a minute, `sessions::touch`), the browser and the address it signed in
-- from. Sessions from before this migration get what is known: last seen at sign-in, no
-- browser, no address.
ALTER TABLE user_sessions ADD COLUMN last_seen_at TIMESTAMP;
UPDATE user_sessions SET last_seen_at = created_at;
ALTER TABLE user_sessions ALTER COLUMN last_seen_at SET NOT NULL;
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
-- A user's sessions oldest first: the cap at sign-in ends the oldest (`sessions::start`).
CREATE INDEX user_sessions_user_created ON user_sessions (user_id, created_at);
DROP INDEX user_sessions_user;
