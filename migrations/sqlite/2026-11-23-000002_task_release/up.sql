-- Task Release: development scripts and their immutable versions, release tasks, release
-- packages with their reviewers and per-task outcome, the production environment, and the
-- durable job queue the release worker claims from.

CREATE TABLE scripts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    path TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 200),
    script_type TEXT NOT NULL CHECK (script_type IN ('sql', 'shell', 'python', 'spark', 'hive')),
    draft_content TEXT NOT NULL DEFAULT '',
    schedule TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    owner_id BIGINT REFERENCES users(id),
    latest_version INTEGER NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, path)
);

CREATE TABLE script_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    script_id BIGINT NOT NULL REFERENCES scripts(id),
    number INTEGER NOT NULL CHECK (number >= 1),
    content TEXT NOT NULL,
    message TEXT NOT NULL,
    script_type TEXT NOT NULL,
    schedule TEXT NOT NULL,
    submitted_by BIGINT REFERENCES users(id),
    submitted_at TIMESTAMP NOT NULL,
    UNIQUE (script_id, number)
);

CREATE TABLE release_packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    applicant_id BIGINT NOT NULL REFERENCES users(id),
    comment TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending_approval', 'releasing', 'released', 'partially_failed', 'failed', 'rejected', 'revoked')),
    needs_approval BOOLEAN NOT NULL,
    quorum TEXT NOT NULL CHECK (quorum IN ('any', 'all')),
    applied_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    released_by BIGINT REFERENCES users(id),
    release_started_at TIMESTAMP,
    released_at TIMESTAMP,
    task_count INTEGER NOT NULL CHECK (task_count BETWEEN 0 AND 100),
    done_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (id, applicant_id)
);
CREATE INDEX release_packages_ws_status ON release_packages (workspace_id, status, applied_at);
CREATE INDEX release_packages_ws_applied ON release_packages (workspace_id, applied_at);

-- The applicant can never review their own package: the applicant is copied here (kept equal to
-- the package's by the composite foreign key) so a CHECK can hold the rule.
CREATE TABLE package_reviewers (
    package_id BIGINT NOT NULL,
    applicant_id BIGINT NOT NULL,
    reviewer_id BIGINT NOT NULL REFERENCES users(id),
    decision TEXT CHECK (decision IN ('approved', 'rejected')),
    comment TEXT NOT NULL DEFAULT '',
    decided_at TIMESTAMP,
    PRIMARY KEY (package_id, reviewer_id),
    FOREIGN KEY (package_id, applicant_id) REFERENCES release_packages (id, applicant_id),
    CHECK (reviewer_id <> applicant_id)
);
CREATE INDEX package_reviewers_reviewer ON package_reviewers (reviewer_id, decision);

CREATE TABLE release_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    script_id BIGINT NOT NULL REFERENCES scripts(id),
    version_id BIGINT NOT NULL UNIQUE REFERENCES script_versions(id),
    name TEXT NOT NULL,
    version_number INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_review', 'releasing', 'released', 'failed', 'rejected', 'revoked', 'superseded')),
    submitted_by BIGINT REFERENCES users(id),
    submitted_at TIMESTAMP NOT NULL,
    package_id BIGINT REFERENCES release_packages(id),
    status_reason TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX release_tasks_ws_status ON release_tasks (workspace_id, status, submitted_at);
CREATE INDEX release_tasks_ws_submitter ON release_tasks (workspace_id, submitted_by, submitted_at);
CREATE INDEX release_tasks_ws_submitted ON release_tasks (workspace_id, submitted_at);
CREATE INDEX release_tasks_script ON release_tasks (script_id, status);

CREATE TABLE package_tasks (
    package_id BIGINT NOT NULL REFERENCES release_packages(id),
    task_id BIGINT NOT NULL REFERENCES release_tasks(id),
    position INTEGER NOT NULL,
    release_status TEXT NOT NULL DEFAULT 'waiting' CHECK (release_status IN ('waiting', 'released', 'failed', 'withdrawn')),
    startup_status TEXT NOT NULL DEFAULT 'not_started' CHECK (startup_status IN ('not_started', 'started', 'start_failed')),
    message TEXT NOT NULL DEFAULT '',
    finished_at TIMESTAMP,
    PRIMARY KEY (package_id, task_id)
);
CREATE INDEX package_tasks_task ON package_tasks (task_id);

-- What is live: one row per script that has reached production, and every version it ran.
CREATE TABLE production_scripts (
    script_id BIGINT PRIMARY KEY REFERENCES scripts(id),
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    version_id BIGINT NOT NULL REFERENCES script_versions(id),
    version_number INTEGER NOT NULL,
    content TEXT NOT NULL,
    script_type TEXT NOT NULL,
    schedule TEXT NOT NULL,
    package_id BIGINT REFERENCES release_packages(id),
    released_by BIGINT REFERENCES users(id),
    released_at TIMESTAMP NOT NULL,
    startup_status TEXT NOT NULL CHECK (startup_status IN ('not_started', 'started', 'start_failed')),
    startup_message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX production_scripts_ws ON production_scripts (workspace_id);

CREATE TABLE production_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    script_id BIGINT NOT NULL REFERENCES scripts(id),
    version_id BIGINT NOT NULL REFERENCES script_versions(id),
    version_number INTEGER NOT NULL,
    package_id BIGINT REFERENCES release_packages(id),
    released_by BIGINT REFERENCES users(id),
    released_at TIMESTAMP NOT NULL
);
CREATE INDEX production_history_script ON production_history (script_id, released_at);

-- Durable background work (TECH-NOTES §7): claimed with a lease; a crashed holder's lease
-- expires and another worker takes the job over.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    locked_by TEXT,
    locked_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_claim ON jobs (queue, status, run_at);
