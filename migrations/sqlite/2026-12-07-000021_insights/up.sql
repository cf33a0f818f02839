-- Insights (docs/ARCHITECTURE.md, "Insights"): what finished in a period, per workspace, read by
-- finish time: packages by workspace, region runs by time (then their task's workspace).
CREATE INDEX release_packages_ws_released ON release_packages (workspace_id, released_at);
CREATE INDEX region_executions_finished ON region_executions (finished_at);
