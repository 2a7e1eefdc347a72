CREATE TABLE "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, "started_at" DATETIME NOT NULL DEFAULT current_timestamp, "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0);
CREATE TABLE "Account" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "role" TEXT NOT NULL DEFAULT 'ADMIN', "balance" REAL NOT NULL DEFAULT 0.5);
INSERT INTO "Account" ("role", "balance") VALUES ('USER', 10), ('ADMIN', 0);
