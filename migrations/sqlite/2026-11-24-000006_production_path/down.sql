CREATE INDEX production_scripts_ws ON production_scripts (workspace_id);
DROP INDEX production_scripts_ws_path;
ALTER TABLE production_scripts DROP COLUMN path;
