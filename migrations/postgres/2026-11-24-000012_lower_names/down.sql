-- Back to the expression indexes of 000005, 000009 and 000010 (dropping a column drops its
-- indexes).
ALTER TABLE release_tasks DROP COLUMN lower_name;
ALTER TABLE release_packages DROP COLUMN lower_name;
ALTER TABLE scripts DROP COLUMN lower_path;
ALTER TABLE region_tasks DROP COLUMN lower_name;

CREATE INDEX release_tasks_name_trgm ON release_tasks USING gin (lower(name) gin_trgm_ops);
CREATE INDEX release_packages_name_trgm ON release_packages USING gin (lower(name) gin_trgm_ops);
CREATE INDEX scripts_path_trgm ON scripts USING gin (lower(path) gin_trgm_ops);
CREATE INDEX region_tasks_name_trgm ON region_tasks USING gin (lower(name) gin_trgm_ops);
CREATE INDEX release_tasks_spaced_trgm ON release_tasks USING gin (lower(name) gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX release_packages_spaced_trgm ON release_packages USING gin (lower(name) gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX scripts_spaced_trgm ON scripts USING gin (lower(path) gin_trgm_ops)
    WHERE path LIKE '% %';
CREATE INDEX region_tasks_spaced_trgm ON region_tasks USING gin (lower(name) gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX release_tasks_ws_lower_name ON release_tasks (workspace_id, lower(name) text_pattern_ops);
CREATE INDEX release_packages_ws_lower_name ON release_packages (workspace_id, lower(name) text_pattern_ops);
CREATE INDEX region_tasks_ws_lower_name ON region_tasks (workspace_id, lower(name) text_pattern_ops);
