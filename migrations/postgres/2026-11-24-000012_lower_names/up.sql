-- Fuzzy search tests names in lower case (src/search.rs, `Target::lowered`). lower() under the
-- database's collation converts each name to wide characters and back: it was half of a capped
-- count that tests 10,000 names (4.0 of 7.3 ms for `daily orders` at 1M bench tasks,
-- docs/BENCHMARKS.md). Each name is lowered once, when it is written, into a stored column, and
-- the name indexes of 000005, 000009 and 000010 move to it. Adding a stored column rewrites
-- the table under its exclusive lock: about 10 s for 1M bench tasks, once, at upgrade.
ALTER TABLE release_tasks ADD COLUMN lower_name TEXT GENERATED ALWAYS AS (lower(name)) STORED;
ALTER TABLE release_packages ADD COLUMN lower_name TEXT GENERATED ALWAYS AS (lower(name)) STORED;
ALTER TABLE scripts ADD COLUMN lower_path TEXT GENERATED ALWAYS AS (lower(path)) STORED;
ALTER TABLE region_tasks ADD COLUMN lower_name TEXT GENERATED ALWAYS AS (lower(name)) STORED;

DROP INDEX release_tasks_name_trgm;
DROP INDEX release_packages_name_trgm;
DROP INDEX scripts_path_trgm;
DROP INDEX region_tasks_name_trgm;
CREATE INDEX release_tasks_name_trgm ON release_tasks USING gin (lower_name gin_trgm_ops);
CREATE INDEX release_packages_name_trgm ON release_packages USING gin (lower_name gin_trgm_ops);
CREATE INDEX scripts_path_trgm ON scripts USING gin (lower_path gin_trgm_ops);
CREATE INDEX region_tasks_name_trgm ON region_tasks USING gin (lower_name gin_trgm_ops);

DROP INDEX release_tasks_spaced_trgm;
DROP INDEX release_packages_spaced_trgm;
DROP INDEX scripts_spaced_trgm;
DROP INDEX region_tasks_spaced_trgm;
CREATE INDEX release_tasks_spaced_trgm ON release_tasks USING gin (lower_name gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX release_packages_spaced_trgm ON release_packages USING gin (lower_name gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX scripts_spaced_trgm ON scripts USING gin (lower_path gin_trgm_ops)
    WHERE path LIKE '% %';
CREATE INDEX region_tasks_spaced_trgm ON region_tasks USING gin (lower_name gin_trgm_ops)
    WHERE name LIKE '% %';

DROP INDEX release_tasks_ws_lower_name;
DROP INDEX release_packages_ws_lower_name;
DROP INDEX region_tasks_ws_lower_name;
CREATE INDEX release_tasks_ws_lower_name ON release_tasks (workspace_id, lower_name text_pattern_ops);
CREATE INDEX release_packages_ws_lower_name ON release_packages (workspace_id, lower_name text_pattern_ops);
CREATE INDEX region_tasks_ws_lower_name ON region_tasks (workspace_id, lower_name text_pattern_ops);
