CREATE TABLE setting (id INTEGER PRIMARY KEY, offset_min INTEGER DEFAULT -60, greeting TEXT DEFAULT 'Hello, world', quote TEXT DEFAULT '"quoted"');
INSERT INTO setting (offset_min, greeting, quote) VALUES (0, 'hi', 'q');
INSERT INTO setting (id, offset_min, greeting, quote) VALUES (9, -5, 'it''s', '"x"');
