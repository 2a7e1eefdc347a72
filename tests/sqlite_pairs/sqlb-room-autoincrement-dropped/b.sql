CREATE TABLE IF NOT EXISTS `Note` (`id` INTEGER PRIMARY KEY NOT NULL, `body` TEXT NOT NULL, `pinned` INTEGER NOT NULL DEFAULT 0);
INSERT INTO `Note` (`id`, `body`) VALUES (1, 'milk'), (2, 'eggs'), (7, 'bread');
