CREATE TABLE [Sales Data] ([Region] TEXT, `Amount` REAL, [Quarter] INTEGER CHECK ([Quarter] BETWEEN 1 AND 4));
