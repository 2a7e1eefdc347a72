CREATE TABLE acct (id INTEGER PRIMARY KEY, firstName TEXT, LastName TEXT, CHECK (firstname <> ''));
CREATE INDEX acct_last ON acct (LastName);
INSERT INTO acct (firstname, lastname) VALUES ('Jo', 'Smith');
