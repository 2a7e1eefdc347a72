CREATE TABLE event (id INTEGER PRIMARY KEY, payload TEXT,
  kind TEXT AS (json_extract(payload, '$.kind')));
CREATE INDEX event_kind ON event (kind);
