DROP INDEX step_people_user;
