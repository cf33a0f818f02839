-- Region Release: regions (with their deploy driver), components, each region's inventory with
-- history, region release tasks with their ordered steps (deploy and checkpoint steps), and
-- every execution and rollback with per-component, per-region results.

CREATE TABLE regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    display_order INTEGER NOT NULL DEFAULT 0,
    driver TEXT NOT NULL CHECK (driver IN ('inventory', 'webhook')),
    webhook_url TEXT NOT NULL DEFAULT '',
    webhook_secret TEXT NOT NULL DEFAULT '',
    timeout_ms INTEGER NOT NULL DEFAULT 5000 CHECK (timeout_ms BETWEEN 100 AND 60000),
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 10),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name),
    CHECK (driver = 'inventory' OR webhook_url <> '')
);

CREATE TABLE components (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    artifact TEXT NOT NULL,
    version TEXT NOT NULL,
    instances INTEGER NOT NULL CHECK (instances BETWEEN 0 AND 1000),
    cpu_millis INTEGER NOT NULL CHECK (cpu_millis BETWEEN 1 AND 64000),
    memory_mib INTEGER NOT NULL CHECK (memory_mib BETWEEN 1 AND 262144),
    env TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE region_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    description TEXT NOT NULL DEFAULT '',
    operation TEXT NOT NULL CHECK (operation IN ('deploy', 'upgrade', 'clone')),
    source_region_id BIGINT REFERENCES regions(id),
    best_effort BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('to_release', 'releasing', 'released', 'release_failed', 'rolling_back', 'rolled_back', 'rollback_failed', 'suspending', 'suspended')),
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    released_by BIGINT REFERENCES users(id),
    released_at TIMESTAMP,
    CHECK (operation <> 'clone' OR source_region_id IS NOT NULL)
);
CREATE INDEX region_tasks_ws_status ON region_tasks (workspace_id, status, created_at);

CREATE TABLE region_task_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BIGINT NOT NULL REFERENCES region_tasks(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('deploy', 'approval', 'trigger')),
    region_id BIGINT REFERENCES regions(id),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'waiting', 'agreed', 'rejected')),
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    message TEXT NOT NULL DEFAULT '',
    UNIQUE (task_id, position),
    CHECK ((kind = 'deploy') = (region_id IS NOT NULL))
);

CREATE TABLE step_components (
    step_id BIGINT NOT NULL REFERENCES region_task_steps(id),
    component_id BIGINT NOT NULL REFERENCES components(id),
    PRIMARY KEY (step_id, component_id)
);

CREATE TABLE step_people (
    step_id BIGINT NOT NULL REFERENCES region_task_steps(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (step_id, user_id)
);

CREATE TABLE step_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    step_id BIGINT NOT NULL REFERENCES region_task_steps(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    decision TEXT CHECK (decision IN ('agree', 'reject')),
    comment TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX step_comments_step ON step_comments (step_id, created_at);

CREATE TABLE region_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BIGINT NOT NULL REFERENCES region_tasks(id),
    kind TEXT NOT NULL CHECK (kind IN ('release', 'rollback')),
    start_position INTEGER NOT NULL,
    started_by BIGINT REFERENCES users(id),
    reason TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'suspended')),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX region_executions_task ON region_executions (task_id, started_at);

-- Each region's inventory: an append-only history; the current state of a component in a
-- region is its newest entry (present = false means removed).
CREATE TABLE inventory_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    region_id BIGINT NOT NULL REFERENCES regions(id),
    component_id BIGINT NOT NULL REFERENCES components(id),
    present BOOLEAN NOT NULL,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    task_id BIGINT REFERENCES region_tasks(id),
    execution_id BIGINT REFERENCES region_executions(id),
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inventory_entries_current ON inventory_entries (region_id, component_id, id);

CREATE TABLE execution_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id BIGINT NOT NULL REFERENCES region_executions(id),
    step_id BIGINT NOT NULL REFERENCES region_task_steps(id),
    region_id BIGINT NOT NULL REFERENCES regions(id),
    component_id BIGINT NOT NULL REFERENCES components(id),
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    previous_entry_id BIGINT REFERENCES inventory_entries(id),
    new_entry_id BIGINT REFERENCES inventory_entries(id),
    UNIQUE (execution_id, step_id, component_id)
);
