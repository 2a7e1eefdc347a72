CREATE TABLE IF NOT EXISTS `Task` (`id` INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, `title` TEXT, `done` INTEGER);
INSERT INTO `Task` (`title`, `done`) VALUES ('write', 0), ('test', 1), ('ship', 0);
