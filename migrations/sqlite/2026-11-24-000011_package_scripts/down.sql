CREATE TABLE package_tasks_old (
    package_id BIGINT NOT NULL REFERENCES release_packages(id),
    task_id BIGINT NOT NULL REFERENCES release_tasks(id),
    position INTEGER NOT NULL,
    release_status TEXT NOT NULL DEFAULT 'waiting' CHECK (release_status IN ('waiting', 'released', 'failed', 'withdrawn')),
    startup_status TEXT NOT NULL DEFAULT 'not_started' CHECK (startup_status IN ('not_started', 'started', 'start_failed')),
    message TEXT NOT NULL DEFAULT '',
    finished_at TIMESTAMP,
    PRIMARY KEY (package_id, task_id)
);
INSERT INTO package_tasks_old
SELECT package_id, task_id, position, release_status, startup_status, message, finished_at
FROM package_tasks;
DROP TABLE package_tasks;
ALTER TABLE package_tasks_old RENAME TO package_tasks;
CREATE INDEX package_tasks_task ON package_tasks (task_id);
DROP INDEX release_tasks_id_script;
