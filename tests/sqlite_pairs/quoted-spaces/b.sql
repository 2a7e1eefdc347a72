CREATE TABLE "order line" ("line id" INTEGER PRIMARY KEY, "unit price" REAL NOT NULL DEFAULT 0, "sales tax" REAL);
CREATE INDEX "order line by price" ON "order line" ("unit price");
