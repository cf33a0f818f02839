DROP INDEX region_tasks_spaced_trgm;
DROP INDEX scripts_spaced_trgm;
DROP INDEX release_packages_spaced_trgm;
DROP INDEX release_tasks_spaced_trgm;
