DROP TABLE lead_time_days;
