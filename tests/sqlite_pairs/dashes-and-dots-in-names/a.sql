CREATE TABLE "user-events" ("event.type" TEXT, "when" TEXT);
CREATE INDEX "user-events.by-type" ON "user-events" ("event.type");
