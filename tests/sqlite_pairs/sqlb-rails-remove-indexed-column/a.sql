CREATE TABLE IF NOT EXISTS "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
CREATE TABLE IF NOT EXISTS "accounts" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar NOT NULL, "legacy_code" varchar, "plan" varchar DEFAULT 'free' NOT NULL);
CREATE INDEX "index_accounts_on_legacy_code" ON "accounts" ("legacy_code");
CREATE INDEX "index_accounts_on_plan_and_name" ON "accounts" ("plan", "name");
INSERT INTO "schema_migrations" VALUES ('20240101000000'), ('20240215103000');
INSERT INTO "ar_internal_metadata" VALUES ('environment', 'development', '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000');
INSERT INTO "accounts" ("name", "plan") VALUES ('acme', 'pro'), ('initech', 'free');
