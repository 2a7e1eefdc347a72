CREATE TABLE member (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE UNIQUE INDEX member_email_lower ON member (lower(email));
CREATE INDEX member_domain ON member (substr(email, instr(email, '@') + 1) DESC);
