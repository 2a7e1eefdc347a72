CREATE TABLE "group" ("select" TEXT NOT NULL DEFAULT '', "from" INTEGER, "order" INTEGER PRIMARY KEY, "where" TEXT);
CREATE INDEX "index" ON "group" ("from", "where");
