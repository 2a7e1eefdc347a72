CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL COLLATE NOCASE,
  last_name TEXT NOT NULL COLLATE NOCASE,
  email TEXT COLLATE NOCASE
);
CREATE INDEX contacts_name ON contacts(last_name COLLATE NOCASE DESC, first_name);
CREATE UNIQUE INDEX contacts_email ON contacts(email COLLATE NOCASE);
INSERT INTO contacts VALUES (1, 'Ann', 'Smith', 'ann@x.io'), (2, 'bob', 'jones', 'BOB@x.io');
