-- `latest` rebuilt with the body as its last column (SQLite only: issue 11).
--
-- SQLite stores a row's columns in the order of the table, and the tail of
-- a long value on overflow pages: a column after `body` is read by walking
-- the body's overflow chain first. 0003 to 0005 added `body` and then the
-- columns every list reads after it (`findings`, the state's key and
-- times), so each row of the "Port STCA2 non ouvert" list, the console's
-- lists and the exports cost 1 to 3 more page reads. The API's list of
-- closed probes at 1,000,000 probes: p99 39 ms before this, 9 ms after
-- (BENCHMARKS.md, "Back office").
-- PostgreSQL keeps a long body out of line (TOAST): its column order does
-- not matter and its migrations have no 0006.
--
-- The rows are copied in probe order (lists page by probe). The copy is one
-- transaction through the WAL: while it runs it needs about twice the
-- table's size of free disk (the WAL, then the file), and afterwards the
-- file keeps the old table's pages as free pages (reused by later writes;
-- `VACUUM` in a quiet window gives them back to the system).

CREATE TABLE latest_body_last (
    probe_id           TEXT    NOT NULL PRIMARY KEY,
    report_id          TEXT    NOT NULL,
    started_at         INTEGER NOT NULL,
    stca2_port_closed  BOOLEAN NOT NULL,
    closed_since       INTEGER,
    closed_streak      INTEGER NOT NULL,
    recommendation     TEXT    NOT NULL,
    message            TEXT    NOT NULL,
    merchant_id        TEXT,
    public_ip          TEXT,
    findings           TEXT    NOT NULL DEFAULT '',
    finished_at        INTEGER,
    received_at        INTEGER,
    state_key          TEXT,
    prev_state_key     TEXT,
    state_since        INTEGER,
    state_reports      INTEGER NOT NULL DEFAULT 0,
    spool_dropped      INTEGER,
    state_report_id    TEXT,
    body               TEXT
);

INSERT INTO latest_body_last (probe_id, report_id, started_at, stca2_port_closed, closed_since,
    closed_streak, recommendation, message, merchant_id, public_ip, findings, finished_at,
    received_at, state_key, prev_state_key, state_since, state_reports, spool_dropped,
    state_report_id, body)
SELECT probe_id, report_id, started_at, stca2_port_closed, closed_since,
    closed_streak, recommendation, message, merchant_id, public_ip, findings, finished_at,
    received_at, state_key, prev_state_key, state_since, state_reports, spool_dropped,
    state_report_id, body
  FROM latest ORDER BY probe_id;

DROP TABLE latest;
ALTER TABLE latest_body_last RENAME TO latest;

-- The indexes of 0001, 0002 and 0004, as they were.
CREATE INDEX latest_closed ON latest (probe_id) WHERE stca2_port_closed;
CREATE INDEX latest_closed_merchant ON latest (merchant_id, probe_id) WHERE stca2_port_closed;
CREATE INDEX latest_merchant ON latest (merchant_id, probe_id);
CREATE INDEX latest_closed_since ON latest (closed_since, probe_id) WHERE stca2_port_closed;
CREATE INDEX latest_f_interception ON latest (probe_id) WHERE findings LIKE '%,interception,%' ESCAPE '\';
CREATE INDEX latest_f_old_ca ON latest (probe_id) WHERE findings LIKE '%,old\_ca,%' ESCAPE '\';
CREATE INDEX latest_f_expiring ON latest (probe_id) WHERE findings LIKE '%,expiring,%' ESCAPE '\';
CREATE INDEX latest_secondary_ready ON latest (probe_id) WHERE recommendation = 'configure_secondary';
CREATE INDEX latest_started ON latest (started_at);
