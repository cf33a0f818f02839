-- Fuzzy name search (src/search.rs): pg_trgm GIN indexes on lower(name), which serve
-- lower(name) LIKE '%word%'. They replace the hand-made name_trigrams index. pg_trgm is a
-- trusted extension: a database owner may create it.
DROP TABLE name_trigrams;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX release_tasks_name_trgm ON release_tasks USING gin (lower(name) gin_trgm_ops);
CREATE INDEX release_packages_name_trgm ON release_packages USING gin (lower(name) gin_trgm_ops);
CREATE INDEX scripts_path_trgm ON scripts USING gin (lower(path) gin_trgm_ops);
CREATE INDEX region_tasks_name_trgm ON region_tasks USING gin (lower(name) gin_trgm_ops);

-- The Tasks tab sorted by name (every other filter and sort has its index since 000002).
CREATE INDEX release_tasks_ws_name ON release_tasks (workspace_id, name, version_number);
