CREATE TABLE member (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE UNIQUE INDEX member_email_lower ON member (lower(trim(email)));
CREATE INDEX member_domain ON member (substr(email, instr(email, '@') + 1));
INSERT INTO member (email) VALUES ('Ann@Example.com'), ('bob@test.org');
