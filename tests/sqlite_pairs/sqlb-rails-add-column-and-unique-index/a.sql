CREATE TABLE IF NOT EXISTS "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
CREATE TABLE IF NOT EXISTS "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "email" varchar DEFAULT '' NOT NULL, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
INSERT INTO "schema_migrations" VALUES ('20240101000000'), ('20240215103000');
INSERT INTO "ar_internal_metadata" VALUES ('environment', 'development', '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000');
INSERT INTO "users" ("email", "created_at", "updated_at") VALUES ('a@example.com', '2024-02-01 10:00:00.123456', '2024-02-01 10:00:00.123456'), ('b@example.com', '2024-02-02 11:00:00.000000', '2024-02-03 11:00:00.000000');
