-- Personal access tokens for the JSON API (`db::models::tokens`). Only the SHA-256 of a token is
-- stored: a token is 256 random bits, so a fast hash is as safe as a slow one and costs nothing
-- per request. `token_prefix` (the first characters after `rd_`) lets a person tell tokens apart
-- on the Account page. A token acts as its user; `scope` 'read' refuses every change.
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    last_used_ip TEXT NOT NULL DEFAULT '',
    revoked_at TIMESTAMP,
    revoked_by BIGINT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

-- Idempotency-Key of the API's creating POSTs (`db::models::idempotency`): the first answer to
-- (user, key) is kept, and a retry with the same key gets it back instead of creating twice. The
-- row is written in the same transaction as what it creates, so a failed request keeps nothing.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    idem_key TEXT NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
