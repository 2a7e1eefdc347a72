CREATE TABLE shipment (id INTEGER PRIMARY KEY, carrier TEXT, weight REAL);
CREATE TABLE shipment_log (shipment_id INTEGER, note TEXT);
CREATE TRIGGER shipment_logged AFTER INSERT ON shipment
BEGIN
  INSERT INTO shipment_log VALUES (NEW.id, 'created');
END;
CREATE TRIGGER log_checks_shipment BEFORE INSERT ON shipment_log
WHEN NOT EXISTS (SELECT 1 FROM shipment WHERE id = NEW.shipment_id)
BEGIN
  SELECT RAISE(ABORT, 'unknown shipment');
END;
CREATE VIEW heavy_shipments AS SELECT id, carrier FROM shipment WHERE weight > 100;
INSERT INTO shipment (carrier, weight) VALUES ('ups', 150);
