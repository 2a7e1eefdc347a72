CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
CREATE TABLE "blog_entry" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "headline" varchar(100) NOT NULL, "rating" varchar(10) NULL, "is_public" bool NOT NULL);
INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ('shop', '0001_initial', '2024-01-05 09:00:00.000000');
INSERT INTO "blog_entry" ("headline", "rating", "is_public") VALUES ('Beatles reunite', '4.5', 1), ('Nothing happens', NULL, 0);
