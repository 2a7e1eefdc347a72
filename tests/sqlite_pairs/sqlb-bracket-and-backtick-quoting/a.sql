CREATE TABLE [Customer Data] ([Customer Name] TEXT NOT NULL, `Zip Code` TEXT, [Id] INTEGER PRIMARY KEY);
INSERT INTO [Customer Data] ([Customer Name], `Zip Code`) VALUES ('Acme', '12345'), ('Globex', NULL);
