CREATE TABLE temp_reading (id INTEGER PRIMARY KEY, celsius REAL, fahrenheit REAL AS (celsius * 1.8 + 32));
INSERT INTO temp_reading (celsius) VALUES (100);
