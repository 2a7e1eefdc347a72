CREATE TABLE [Customer Data] ([Customer Name] TEXT NOT NULL, `Zip Code` TEXT CHECK (length(`Zip Code`) = 5), [Id] INTEGER PRIMARY KEY);
CREATE INDEX [ix Customer Name] ON [Customer Data] ([Customer Name] COLLATE NOCASE);
INSERT INTO [Customer Data] ([Customer Name], `Zip Code`) VALUES ('Acme', '12345'), ('Globex', NULL);
