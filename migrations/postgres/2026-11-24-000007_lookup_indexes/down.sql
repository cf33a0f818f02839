DROP INDEX release_tasks_ws_submitter_status;
DROP INDEX audit_log_target;
