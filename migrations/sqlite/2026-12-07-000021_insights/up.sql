-- Insights (docs/ARCHITECTURE.md, "Insights"): packages that finished in a period, per
-- workspace, read by their finish time.
CREATE INDEX release_packages_ws_released ON release_packages (workspace_id, released_at);
