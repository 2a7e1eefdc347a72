CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
CREATE TABLE "shop_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(100) NOT NULL, "qty" integer unsigned NOT NULL CHECK ("qty" >= 0), "price" decimal NOT NULL);
INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ('shop', '0001_initial', '2024-01-05 09:00:00.000000');
INSERT INTO "shop_item" ("name", "qty", "price") VALUES ('pen', 10, '1.50'), ('ink', 0, '7.25');
