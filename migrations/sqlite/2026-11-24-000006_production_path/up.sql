-- The Production page lists what is live in path order. Walking `scripts` in path order and
-- probing `production_scripts` for each costs a walk over every script when few are live (the
-- soak found this), so the live copy keeps its script's path (a script's path never changes)
-- and is indexed on it.
ALTER TABLE production_scripts ADD COLUMN path TEXT NOT NULL DEFAULT '';
UPDATE production_scripts SET path = (SELECT path FROM scripts WHERE scripts.id = production_scripts.script_id);
CREATE INDEX production_scripts_ws_path ON production_scripts (workspace_id, path);
DROP INDEX production_scripts_ws;
