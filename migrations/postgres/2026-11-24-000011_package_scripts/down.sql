DROP INDEX package_tasks_script;
ALTER TABLE package_tasks DROP CONSTRAINT package_tasks_task_script;
DROP INDEX release_tasks_id_script;
ALTER TABLE package_tasks DROP COLUMN script_id;
