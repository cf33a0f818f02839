-- Each package row carries its task's script (a task is one version of one script, so it never
-- changes), for "Compare Version with" (`releases::packages_sharing_scripts`): the packages
-- holding one of a package's scripts are then two index scans on package_tasks, instead of
-- package -> tasks -> every task of those scripts -> their package rows (docs/BENCHMARKS.md).
-- SQLite cannot add a NOT NULL column with a foreign key, so the table is rebuilt (nothing
-- references it); the new column goes last, as on PostgreSQL.
CREATE UNIQUE INDEX release_tasks_id_script ON release_tasks (id, script_id);
CREATE TABLE package_tasks_new (
    package_id BIGINT NOT NULL REFERENCES release_packages(id),
    task_id BIGINT NOT NULL REFERENCES release_tasks(id),
    position INTEGER NOT NULL,
    release_status TEXT NOT NULL DEFAULT 'waiting' CHECK (release_status IN ('waiting', 'released', 'failed', 'withdrawn')),
    startup_status TEXT NOT NULL DEFAULT 'not_started' CHECK (startup_status IN ('not_started', 'started', 'start_failed')),
    message TEXT NOT NULL DEFAULT '',
    finished_at TIMESTAMP,
    script_id BIGINT NOT NULL,
    PRIMARY KEY (package_id, task_id),
    -- The copy cannot disagree with its task: the pair references the task's own pair.
    FOREIGN KEY (task_id, script_id) REFERENCES release_tasks (id, script_id)
);
INSERT INTO package_tasks_new
    (package_id, task_id, position, release_status, startup_status, message, finished_at, script_id)
SELECT pt.package_id, pt.task_id, pt.position, pt.release_status, pt.startup_status, pt.message,
       pt.finished_at, rt.script_id
FROM package_tasks pt JOIN release_tasks rt ON rt.id = pt.task_id;
DROP TABLE package_tasks;
ALTER TABLE package_tasks_new RENAME TO package_tasks;
CREATE INDEX package_tasks_task ON package_tasks (task_id);
CREATE INDEX package_tasks_script ON package_tasks (script_id, package_id);
ANALYZE package_tasks;
