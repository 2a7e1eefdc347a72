CREATE TABLE setting (id INTEGER PRIMARY KEY, offset_min INTEGER DEFAULT -90, greeting TEXT DEFAULT 'O''Brien''s (pub)', quote TEXT DEFAULT '-- not a comment', ratio REAL DEFAULT -0.5);
INSERT INTO setting (offset_min, greeting, quote) VALUES (0, 'hi', 'q');
INSERT INTO setting (id, offset_min, greeting, quote) VALUES (9, -5, 'it''s', '"x"');
