CREATE TABLE device (id INTEGER PRIMARY KEY, serial TEXT);
CREATE INDEX device_serial ON device (serial);
