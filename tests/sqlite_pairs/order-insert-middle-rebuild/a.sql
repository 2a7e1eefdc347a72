CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT, phone TEXT);
INSERT INTO contact VALUES (1, 'Bo', '555');
