CREATE TABLE "CustomerOrder" ("OrderID" INTEGER PRIMARY KEY, "CustomerID" INTEGER NOT NULL, "OrderDate" TEXT);
CREATE INDEX "IX_CustomerOrder_CustomerID" ON "CustomerOrder" ("CustomerID");
INSERT INTO "CustomerOrder" ("CustomerID", "OrderDate") VALUES (1, '2024-01-01'), (2, '2024-02-02');
