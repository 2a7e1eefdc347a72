CREATE TABLE widget (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', colour TEXT, size INTEGER);
CREATE VIEW all_widgets AS SELECT * FROM widget;
CREATE VIEW red_widgets AS SELECT * FROM all_widgets WHERE colour = 'red';
