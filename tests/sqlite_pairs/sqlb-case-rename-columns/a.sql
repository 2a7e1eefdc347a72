CREATE TABLE acct (id INTEGER PRIMARY KEY, firstname TEXT, lastname TEXT, CHECK (firstname <> ''));
CREATE INDEX acct_last ON acct (lastname);
INSERT INTO acct (firstname, lastname) VALUES ('Jo', 'Smith');
