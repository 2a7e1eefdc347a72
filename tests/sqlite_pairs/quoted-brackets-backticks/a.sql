CREATE TABLE [Sales Data] ([Region] TEXT, `Amount` REAL);
