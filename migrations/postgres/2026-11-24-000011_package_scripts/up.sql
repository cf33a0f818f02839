-- Each package row carries its task's script (a task is one version of one script, so it never
-- changes), for "Compare Version with" (`releases::packages_sharing_scripts`): the packages
-- holding one of a package's scripts are then two index scans on package_tasks, instead of
-- package -> tasks -> every task of those scripts -> their package rows (2,312 buffers, 970 us
-- per request for a 100-task package at 100k tasks, docs/BENCHMARKS.md).
ALTER TABLE package_tasks ADD COLUMN script_id BIGINT;
UPDATE package_tasks pt SET script_id = rt.script_id FROM release_tasks rt WHERE rt.id = pt.task_id;
ALTER TABLE package_tasks ALTER COLUMN script_id SET NOT NULL;
-- The copy cannot disagree with its task: the pair references the task's own pair.
CREATE UNIQUE INDEX release_tasks_id_script ON release_tasks (id, script_id);
ALTER TABLE package_tasks ADD CONSTRAINT package_tasks_task_script
    FOREIGN KEY (task_id, script_id) REFERENCES release_tasks (id, script_id);
CREATE INDEX package_tasks_script ON package_tasks (script_id, package_id);
ANALYZE package_tasks;
