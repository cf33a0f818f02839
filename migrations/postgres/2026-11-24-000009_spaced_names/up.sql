-- Fuzzy search of a phrase (src/search.rs, `NameMatch::spaced`). pg_trgm drops spaces and
-- punctuation from its trigrams, so the full index cannot tell `daily orders` from
-- `etl/daily_orders_000012.sql`: the tiers' "contains the whole query" test rechecked every
-- name holding both words (9 ms at 100k bench tasks, docs/BENCHMARKS.md). Only a name with a
-- space can hold a query of several words; these indexes hold just those names.
CREATE INDEX release_tasks_spaced_trgm ON release_tasks USING gin (lower(name) gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX release_packages_spaced_trgm ON release_packages USING gin (lower(name) gin_trgm_ops)
    WHERE name LIKE '% %';
CREATE INDEX scripts_spaced_trgm ON scripts USING gin (lower(path) gin_trgm_ops)
    WHERE path LIKE '% %';
CREATE INDEX region_tasks_spaced_trgm ON region_tasks USING gin (lower(name) gin_trgm_ops)
    WHERE name LIKE '% %';
