CREATE TABLE task (id INTEGER PRIMARY KEY, title TEXT, done INTEGER NOT NULL DEFAULT 0, due TEXT);
CREATE INDEX task_open_due ON task (due) WHERE done = 0;
