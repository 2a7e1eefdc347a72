CREATE TABLE "user-events" ("event.type" TEXT NOT NULL DEFAULT 'x', "when" TEXT, "who?" TEXT);
CREATE INDEX "user-events.by-type" ON "user-events" ("event.type", "when");
