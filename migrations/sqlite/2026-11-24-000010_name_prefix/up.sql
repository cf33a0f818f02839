-- Relevance search of one broad word (src/search.rs, `NameSearch::prefix_matches`): the names
-- that start with the query rank first (tiers 0 and 1). Found by a range on lower(name) in
-- this index instead of ranking every match: `daily_orders` at 100k bench tasks ranked 10,000
-- matches for each page (29 ms).
CREATE INDEX release_tasks_ws_lower_name ON release_tasks (workspace_id, lower(name));
CREATE INDEX release_packages_ws_lower_name ON release_packages (workspace_id, lower(name));
CREATE INDEX region_tasks_ws_lower_name ON region_tasks (workspace_id, lower(name));
-- With statistics, as the other indexes may have them (bench databases are ANALYZEd): without,
-- the planner took each new index to be selective on workspace_id and sorted the whole
-- workspace by it for the Tasks tab (0.3 -> 65 ms at 100k tasks).
ANALYZE release_tasks_ws_lower_name;
ANALYZE release_packages_ws_lower_name;
ANALYZE region_tasks_ws_lower_name;
