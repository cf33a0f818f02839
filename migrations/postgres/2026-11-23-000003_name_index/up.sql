-- The fuzzy-search index of task and package names: the padded trigrams of every word of a
-- name (see src/search.rs). Lookups by (kind, workspace, trigram) are served by the primary key
-- on both backends, and both rank the candidates with the same Rust code.
CREATE TABLE name_trigrams (
    kind TEXT NOT NULL CHECK (kind IN ('task', 'package')),
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    trigram TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    PRIMARY KEY (kind, workspace_id, trigram, ref_id)
);
