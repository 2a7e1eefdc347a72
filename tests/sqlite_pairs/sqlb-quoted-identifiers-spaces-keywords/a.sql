CREATE TABLE "order items" ("order" INTEGER NOT NULL, "group" TEXT, "Unit Price" REAL, PRIMARY KEY ("order", "group"));
CREATE INDEX "by price" ON "order items" ("Unit Price");
INSERT INTO "order items" ("order", "group", "Unit Price") VALUES (1, 'a', 2.5), (1, 'b', 3);
