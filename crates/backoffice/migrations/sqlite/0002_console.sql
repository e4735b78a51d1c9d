-- The console's sign-in sessions (crates/backoffice/src/console/session.rs),
-- kept in the database so that every replica on it knows them: only the
-- SHA-256 of a session id is stored, with the admin token it was opened with
-- (revoking the token ends its sessions) and its expiry (Unix ms).
CREATE TABLE console_sessions (
    id_hash     TEXT    NOT NULL PRIMARY KEY,
    token_hash  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- "Port STCA2 non ouvert" sorted by since when (the console's default order).
CREATE INDEX latest_closed_since ON latest (closed_since, probe_id) WHERE stca2_port_closed;
