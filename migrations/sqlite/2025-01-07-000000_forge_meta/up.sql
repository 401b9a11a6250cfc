-- Facts about the installation itself, by name. `encryption_key_fingerprint` lets a start
-- with the wrong encryption key be refused before any stored provider key is unreadable.
CREATE TABLE forge_meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
