CREATE TABLE IF NOT EXISTS "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
CREATE TABLE IF NOT EXISTS "flags" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "admin" boolean DEFAULT FALSE NOT NULL, "beta" boolean DEFAULT TRUE);
INSERT INTO "schema_migrations" VALUES ('20240101000000'), ('20240215103000');
INSERT INTO "ar_internal_metadata" VALUES ('environment', 'development', '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000');
INSERT INTO "flags" ("admin", "beta") VALUES (1, 0), (0, NULL);
