CREATE TABLE visit (id INTEGER PRIMARY KEY, page TEXT, seen_at TEXT DEFAULT CURRENT_DATE, seen_tz TEXT DEFAULT (upper('utc') || '+' || printf('%02d', 0)));
INSERT INTO visit (page, seen_at) VALUES ('/', '2024-05-01 08:00:00'), ('/about', '2024-05-01');
