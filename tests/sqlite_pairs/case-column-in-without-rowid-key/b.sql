CREATE TABLE membership (groupid INTEGER NOT NULL, userid INTEGER NOT NULL, role TEXT, PRIMARY KEY (groupid, userid)) WITHOUT ROWID;
INSERT INTO membership VALUES (1, 2, 'admin');
