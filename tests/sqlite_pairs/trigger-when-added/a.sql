CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, shipped_at TEXT);
