CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
CREATE TABLE "stock_level" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "qty" integer NOT NULL, CONSTRAINT "qty_nonneg" CHECK ("qty" >= 0));
INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ('shop', '0001_initial', '2024-01-05 09:00:00.000000');
INSERT INTO "stock_level" ("qty") VALUES (0), (5), (12);
