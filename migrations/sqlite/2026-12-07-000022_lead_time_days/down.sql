DROP INDEX package_tasks_live;
DROP INDEX package_tasks_failed;
DROP TABLE lead_time_days;
