DROP INDEX release_tasks_ws_name;
DROP TRIGGER release_tasks_fts_insert;
DROP TRIGGER release_tasks_fts_delete;
DROP TRIGGER release_tasks_fts_update;
DROP TABLE release_tasks_fts;
DROP TRIGGER release_packages_fts_insert;
DROP TRIGGER release_packages_fts_delete;
DROP TRIGGER release_packages_fts_update;
DROP TABLE release_packages_fts;
DROP TRIGGER scripts_fts_insert;
DROP TRIGGER scripts_fts_delete;
DROP TRIGGER scripts_fts_update;
DROP TABLE scripts_fts;
DROP TRIGGER region_tasks_fts_insert;
DROP TRIGGER region_tasks_fts_delete;
DROP TRIGGER region_tasks_fts_update;
DROP TABLE region_tasks_fts;
-- The old index comes back empty: nothing fills it any more.
CREATE TABLE name_trigrams (
    kind TEXT NOT NULL CHECK (kind IN ('task', 'package')),
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    trigram TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    PRIMARY KEY (kind, workspace_id, trigram, ref_id)
);
