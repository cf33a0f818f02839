-- Relevance search of one broad word (src/search.rs, `NameSearch::prefix_matches`): the names
-- that start with the query rank first (tiers 0 and 1). Found by `lower(name) LIKE 'query%'`
-- through this index (text_pattern_ops compares bytes, so a prefix is a range whatever the
-- database's collation) instead of ranking every match: `daily_orders` at 100k bench tasks
-- ranked 10,000 matches for each page (84 ms).
CREATE INDEX release_tasks_ws_lower_name ON release_tasks (workspace_id, lower(name) text_pattern_ops);
CREATE INDEX release_packages_ws_lower_name ON release_packages (workspace_id, lower(name) text_pattern_ops);
CREATE INDEX region_tasks_ws_lower_name ON region_tasks (workspace_id, lower(name) text_pattern_ops);
