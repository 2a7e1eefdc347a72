-- the users of the app
CREATE TABLE app_user (
  id INTEGER PRIMARY KEY, -- rowid alias
  handle TEXT NOT NULL UNIQUE, /* now unique */
  bio TEXT
);
