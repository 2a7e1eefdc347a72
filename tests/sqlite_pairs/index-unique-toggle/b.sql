CREATE TABLE device (id INTEGER PRIMARY KEY, serial TEXT);
CREATE UNIQUE INDEX device_serial ON device (serial DESC);
