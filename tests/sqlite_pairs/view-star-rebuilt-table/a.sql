CREATE TABLE widget (id INTEGER PRIMARY KEY, name TEXT, colour TEXT);
CREATE VIEW all_widgets AS SELECT * FROM widget;
CREATE VIEW red_widgets AS SELECT * FROM all_widgets WHERE colour = 'red';
