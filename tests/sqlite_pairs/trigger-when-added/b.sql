CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, shipped_at TEXT);
CREATE TRIGGER orders_shipped AFTER UPDATE OF status ON orders
FOR EACH ROW WHEN NEW.status = 'shipped' AND OLD.status <> 'shipped'
BEGIN
  UPDATE orders SET shipped_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
