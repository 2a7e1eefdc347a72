CREATE TABLE IF NOT EXISTS room_master_table (id INTEGER PRIMARY KEY,identity_hash TEXT);
INSERT OR REPLACE INTO room_master_table (id,identity_hash) VALUES(42, 'a1b2c3d4e5f6');
CREATE TABLE IF NOT EXISTS `User` (`uid` INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, `first_name` TEXT, `last_name` TEXT);
INSERT INTO `User` (`first_name`, `last_name`) VALUES ('Ada', 'Lovelace'), ('Alan', 'Turing'), (NULL, 'Hopper');
