CREATE TABLE "CustomerOrder" ("OrderID" INTEGER PRIMARY KEY, "CustomerID" INTEGER NOT NULL, "OrderDate" TEXT, "ShipCity" TEXT COLLATE NOCASE);
CREATE INDEX "IX_CustomerOrder_CustomerID" ON "CustomerOrder" ("CustomerID", "OrderDate" DESC);
INSERT INTO "CustomerOrder" ("CustomerID", "OrderDate") VALUES (1, '2024-01-01'), (2, '2024-02-02');
