CREATE TABLE IF NOT EXISTS "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
CREATE TABLE IF NOT EXISTS "articles" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "title" varchar NOT NULL, "body" text, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL);
CREATE INDEX "index_articles_on_title" ON "articles" ("title");
INSERT INTO "schema_migrations" VALUES ('20240101000000'), ('20240215103000');
INSERT INTO "ar_internal_metadata" VALUES ('environment', 'development', '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000');
INSERT INTO "articles" ("title", "body", "created_at", "updated_at") VALUES ('Hello', 'First post', '2024-01-01', '2024-01-01'), ('Rails 7', NULL, '2024-01-02', '2024-01-02');
