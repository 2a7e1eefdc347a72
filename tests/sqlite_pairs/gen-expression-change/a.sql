CREATE TABLE temp_reading (id INTEGER PRIMARY KEY, celsius REAL, fahrenheit REAL AS (celsius * 9 / 5 + 32));
INSERT INTO temp_reading (celsius) VALUES (100);
