DROP INDEX release_tasks_ws_name;
DROP INDEX release_tasks_name_trgm;
DROP INDEX release_packages_name_trgm;
DROP INDEX scripts_path_trgm;
DROP INDEX region_tasks_name_trgm;
-- The old index comes back empty: nothing fills it any more.
CREATE TABLE name_trigrams (
    kind TEXT NOT NULL CHECK (kind IN ('task', 'package')),
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    trigram TEXT NOT NULL,
    ref_id BIGINT NOT NULL,
    PRIMARY KEY (kind, workspace_id, trigram, ref_id)
);
