CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
CREATE TABLE "crm_membership" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "team_id" integer NOT NULL, "user_id" integer NOT NULL, "role" varchar(20) NOT NULL);
CREATE UNIQUE INDEX "crm_membership_team_id_user_id_5a1c2d_uniq" ON "crm_membership" ("team_id", "user_id");
INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ('shop', '0001_initial', '2024-01-05 09:00:00.000000');
INSERT INTO "crm_membership" ("team_id", "user_id", "role") VALUES (1, 1, 'owner'), (1, 2, 'member'), (2, 1, 'member');
