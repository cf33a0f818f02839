-- Insights' lead time (docs/ARCHITECTURE.md, "Insights"): how many tasks went live through a
-- package per workspace, UTC day (days since 1970-01-01) and lead-time bin (minutes from
-- submission to live, rounded down to a minute under an hour, five minutes under a day, an hour
-- under a week, a day above). `releases::release_next_task` adds one in the transaction that
-- releases the task, so a year is a few thousand rows whatever the number of tasks.
CREATE TABLE lead_time_days (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    day BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    tasks BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, minutes)
);

INSERT INTO lead_time_days (workspace_id, day, minutes, tasks)
SELECT workspace_id, day, CASE WHEN m < 0 THEN 0 WHEN m < 60 THEN m WHEN m < 1440 THEN m / 5 * 5
    WHEN m < 10080 THEN m / 60 * 60 ELSE m / 1440 * 1440 END AS bin, COUNT(*)
FROM (
    SELECT p.workspace_id AS workspace_id,
        CAST(floor(EXTRACT(EPOCH FROM pt.finished_at)) AS BIGINT) / 86400 AS day,
        (CAST(floor(EXTRACT(EPOCH FROM pt.finished_at)) AS BIGINT)
            - CAST(floor(EXTRACT(EPOCH FROM rt.submitted_at)) AS BIGINT)) / 60 AS m
    FROM package_tasks pt JOIN release_packages p ON p.id = pt.package_id
    JOIN release_tasks rt ON rt.id = pt.task_id
    WHERE pt.release_status = 'released' AND pt.finished_at IS NOT NULL
) AS live
GROUP BY workspace_id, day, bin;

-- Insights' time to restore: a period's failed package tasks by package, and for each the first
-- later release of its script, an index probe each (docs/BENCHMARKS.md, "Insights").
CREATE INDEX package_tasks_failed ON package_tasks (package_id) WHERE release_status = 'failed';
CREATE INDEX package_tasks_live ON package_tasks (script_id, finished_at) WHERE release_status = 'released';
