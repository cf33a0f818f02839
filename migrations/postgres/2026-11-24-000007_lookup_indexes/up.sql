-- Found by the 1M-task benchmark (docs/BENCHMARKS.md): a package's timeline read the
-- workspace's whole audit log, and the Tasks tab filtered by submitter and status counted
-- through the submitter's rows one table lookup at a time.
CREATE INDEX audit_log_target ON audit_log (workspace_id, target_type, target_id, created_at);
CREATE INDEX release_tasks_ws_submitter_status ON release_tasks (workspace_id, submitted_by, status, submitted_at);
