CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0);
CREATE TABLE "Profile" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "bio" TEXT NOT NULL DEFAULT '', "userId" INTEGER NOT NULL, "avatar" TEXT);
CREATE UNIQUE INDEX "Profile_userId_key" ON "Profile"("userId");
INSERT INTO "Profile" ("bio", "userId") VALUES ('hi', 1), ('', 2);
