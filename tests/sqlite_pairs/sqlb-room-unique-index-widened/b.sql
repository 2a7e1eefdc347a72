CREATE TABLE IF NOT EXISTS `Contact` (`id` INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, `email` TEXT NOT NULL, `accountId` INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS `index_Contact_accountId_email` ON `Contact` (`accountId`, `email`);
INSERT INTO `Contact` (`email`, `accountId`) VALUES ('a@x.io', 1), ('b@x.io', 1), ('c@x.io', 2);
