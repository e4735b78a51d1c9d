-- stca2-probe back office schema, PostgreSQL flavour. The SQLite file of the
-- same number holds the same tables, columns and indexes (times are Unix
-- milliseconds, UTC, in both; report bodies are the JSON text as uploaded).

-- Every stored report: the history, pruned by --retention-days.
CREATE TABLE reports (
    report_id          TEXT    NOT NULL PRIMARY KEY CHECK (length(report_id) BETWEEN 1 AND 128),
    probe_id           TEXT    NOT NULL,
    merchant_id        TEXT,
    received_at        BIGINT  NOT NULL,
    started_at         BIGINT  NOT NULL,
    finished_at        BIGINT  NOT NULL,
    public_ip          TEXT,
    stca2_port_closed  BOOLEAN NOT NULL,
    recommendation     TEXT    NOT NULL,
    body               TEXT    NOT NULL
);
CREATE INDEX reports_probe_started ON reports (probe_id, started_at);
CREATE INDEX reports_started ON reports (started_at);

-- The latest state per probe, updated in the same transaction as the history.
CREATE TABLE latest (
    probe_id           TEXT    NOT NULL PRIMARY KEY,
    report_id          TEXT    NOT NULL,
    started_at         BIGINT  NOT NULL,
    stca2_port_closed  BOOLEAN NOT NULL,
    closed_since       BIGINT,
    closed_streak      BIGINT  NOT NULL,
    recommendation     TEXT    NOT NULL,
    message            TEXT    NOT NULL,
    merchant_id        TEXT,
    public_ip          TEXT
);
-- "Port STCA2 non ouvert": only the closed probes are indexed.
CREATE INDEX latest_closed ON latest (probe_id) WHERE stca2_port_closed;
CREATE INDEX latest_closed_merchant ON latest (merchant_id, probe_id) WHERE stca2_port_closed;
CREATE INDEX latest_merchant ON latest (merchant_id, probe_id);

-- API tokens: only the SHA-256 of a token is stored.
CREATE TABLE tokens (
    hash         TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('probe', 'admin')),
    probe_id     TEXT,
    merchant_id  TEXT,
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT
);
