-- Keys the server makes for itself and keeps with the data, so that every instance and every
-- restart uses the same: 'cursor' seals RFC 9865 cursors (opaque, and valid only for the
-- tenant they were issued to).
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    secret BLOB NOT NULL
);
