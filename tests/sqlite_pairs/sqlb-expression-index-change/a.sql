CREATE TABLE member (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE UNIQUE INDEX member_email_lower ON member (lower(email));
INSERT INTO member (email) VALUES ('Ann@Example.com'), ('bob@test.org');
