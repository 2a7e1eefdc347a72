CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', email TEXT, phone TEXT);
INSERT INTO contact (id, name, phone) VALUES (1, 'Bo', '555');
