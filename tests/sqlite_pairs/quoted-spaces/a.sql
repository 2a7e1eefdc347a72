CREATE TABLE "order line" ("line id" INTEGER PRIMARY KEY, "unit price" REAL);
