-- Freeze windows (issue 24, `db::models::freezes`). A window is one-off (`starts_at` to
-- `ends_at`, UTC) or recurring (`schedule`, a five-field cron read in `time_zone`, each
-- occurrence lasting `duration_minutes`). `scope` says what it holds: Task Release (`task`),
-- Region Release (`region`) or both; a window with rows in `freeze_window_regions` holds Region
-- Release in those regions only.
CREATE TABLE freeze_windows (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('task', 'region', 'both')),
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    schedule TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK ((schedule = '' AND starts_at IS NOT NULL AND ends_at > starts_at)
        OR (schedule <> '' AND duration_minutes > 0))
);
CREATE INDEX freeze_windows_workspace ON freeze_windows (workspace_id);

CREATE TABLE freeze_window_regions (
    window_id BIGINT NOT NULL REFERENCES freeze_windows(id) ON DELETE CASCADE,
    region_id BIGINT NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
    PRIMARY KEY (window_id, region_id)
);

-- An admin's override of the freezes for one package or one region task, with the reason. One
-- per item: it lets that item through every window for the rest of its run.
CREATE TABLE freeze_overrides (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    package_id BIGINT UNIQUE REFERENCES release_packages(id) ON DELETE CASCADE,
    region_task_id BIGINT UNIQUE REFERENCES region_tasks(id) ON DELETE CASCADE,
    windows TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK ((package_id IS NULL) <> (region_task_id IS NULL))
);
