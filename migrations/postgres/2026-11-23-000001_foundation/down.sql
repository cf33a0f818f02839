DROP TABLE instance_secrets;
DROP TABLE login_failures;
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
DROP TABLE workspace_reviewers;
DROP TABLE memberships;
DROP TABLE workspaces;
DROP TABLE users;
