-- The navigation's count of checkpoints awaiting the signed-in user runs on every page; it
-- looked them up by user through a scan of every step's people (a profile of the Tasks tab
-- put 5% of its time there at 100k tasks, growing with the region release history).
CREATE INDEX step_people_user ON step_people (user_id, step_id);
