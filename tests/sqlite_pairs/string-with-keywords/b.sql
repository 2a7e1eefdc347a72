CREATE TABLE rule (id INTEGER PRIMARY KEY, kind TEXT CHECK (kind IN ('CHECK', 'constraint (x)', 'a''b', 'new')), note TEXT DEFAULT 'PRIMARY KEY (z)');
