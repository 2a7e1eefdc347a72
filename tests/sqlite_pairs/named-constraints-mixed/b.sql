CREATE TABLE booking (
  id INTEGER CONSTRAINT booking_pk PRIMARY KEY,
  room TEXT NOT NULL,
  day TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT 'none',
  CONSTRAINT one_per_day UNIQUE (room, day),
  CHECK (length(room) > 0)
);
