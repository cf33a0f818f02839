DROP TABLE freeze_overrides;
DROP TABLE freeze_window_regions;
DROP TABLE freeze_windows;
