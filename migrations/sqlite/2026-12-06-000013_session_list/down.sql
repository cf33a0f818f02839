CREATE INDEX user_sessions_user ON user_sessions (user_id);
DROP INDEX user_sessions_user_created;
ALTER TABLE user_sessions DROP COLUMN client_ip;
ALTER TABLE user_sessions DROP COLUMN user_agent;
ALTER TABLE user_sessions DROP COLUMN last_seen_at;
