CREATE TABLE IF NOT EXISTS `PlaylistSongCrossRef` (`playlistId` INTEGER NOT NULL, `songId` INTEGER NOT NULL, `position` INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(`playlistId`, `songId`, `position`));
CREATE INDEX IF NOT EXISTS `index_PlaylistSongCrossRef_songId` ON `PlaylistSongCrossRef` (`songId`);
INSERT INTO `PlaylistSongCrossRef` (`playlistId`, `songId`) VALUES (1, 10), (1, 11), (2, 10);
