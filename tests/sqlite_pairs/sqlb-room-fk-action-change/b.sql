CREATE TABLE IF NOT EXISTS `User` (`uid` INTEGER NOT NULL, `name` TEXT NOT NULL, PRIMARY KEY(`uid`));
CREATE TABLE IF NOT EXISTS `Book` (`id` INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, `title` TEXT NOT NULL, `userId` INTEGER, FOREIGN KEY(`userId`) REFERENCES `User`(`uid`) ON UPDATE CASCADE ON DELETE SET NULL );
CREATE INDEX IF NOT EXISTS `index_Book_userId` ON `Book` (`userId`);
INSERT INTO `User` VALUES (1, 'ann'), (2, 'bob');
INSERT INTO `Book` (`title`, `userId`) VALUES ('Dune', 1), ('Emma', 2), ('Solaris', NULL), ('Ulysses', 1);
