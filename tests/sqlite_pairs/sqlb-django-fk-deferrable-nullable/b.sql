CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
CREATE TABLE "shop_customer" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(80) NOT NULL);
CREATE TABLE "shop_order" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "placed" datetime NOT NULL, "customer_id" bigint NULL REFERENCES "shop_customer" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX "shop_order_customer_id_9d3b1a2c" ON "shop_order" ("customer_id");
INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ('shop', '0001_initial', '2024-01-05 09:00:00.000000');
INSERT INTO "shop_customer" ("name") VALUES ('Ann'), ('Ben');
INSERT INTO "shop_order" ("placed", "customer_id") VALUES ('2024-01-01 10:00', 1), ('2024-01-02 11:00', 2), ('2024-01-03 12:00', 1);
