CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0);
CREATE TABLE "User" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "email" TEXT NOT NULL);
CREATE TABLE "Post" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "title" TEXT NOT NULL,
    "authorId" INTEGER,
    CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "Post_authorId_idx" ON "Post"("authorId");
INSERT INTO "User" ("email") VALUES ('a@b.c'), ('d@e.f');
INSERT INTO "Post" ("createdAt", "updatedAt", "title", "authorId") VALUES ('2024-01-01 00:00:00', '2024-01-02 00:00:00', 'one', 1), ('2024-01-03 00:00:00', '2024-01-03 00:00:00', 'two', 2), ('2024-01-04 00:00:00', '2024-01-04 00:00:00', 'orphan', NULL);
