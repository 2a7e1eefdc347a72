CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  email TEXT
);
CREATE INDEX contacts_name ON contacts(last_name, first_name);
CREATE UNIQUE INDEX contacts_email ON contacts(email);
INSERT INTO contacts VALUES (1, 'Ann', 'Smith', 'ann@x.io'), (2, 'bob', 'jones', 'BOB@x.io');
