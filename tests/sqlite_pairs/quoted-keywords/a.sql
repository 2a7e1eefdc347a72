CREATE TABLE "group" ("select" TEXT, "from" INTEGER, "order" INTEGER PRIMARY KEY);
