-- Fleet scale (issue 11): storage that grows with change, not with time.
-- The PostgreSQL file of the same number holds the same tables and columns
-- (there, report_hours is partitioned by day and bodies use lz4).

ALTER TABLE reports ADD COLUMN state_key TEXT;

ALTER TABLE latest ADD COLUMN body TEXT;
ALTER TABLE latest ADD COLUMN finished_at INTEGER;
ALTER TABLE latest ADD COLUMN received_at INTEGER;
ALTER TABLE latest ADD COLUMN state_key TEXT;
ALTER TABLE latest ADD COLUMN prev_state_key TEXT;
ALTER TABLE latest ADD COLUMN state_since INTEGER;
ALTER TABLE latest ADD COLUMN state_reports INTEGER NOT NULL DEFAULT 0;

UPDATE latest SET (body, finished_at, received_at, state_since, state_reports) =
    (SELECT r.body, r.finished_at, r.received_at, r.started_at, 1
       FROM reports r WHERE r.report_id = latest.report_id)
 WHERE EXISTS (SELECT 1 FROM reports r WHERE r.report_id = latest.report_id);

CREATE TABLE report_hours (
    probe_id        TEXT    NOT NULL,
    hour            INTEGER NOT NULL,
    reports         INTEGER NOT NULL,
    closed          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    successes       INTEGER NOT NULL,
    connect_n       INTEGER NOT NULL,
    connect_ms_sum  REAL    NOT NULL,
    connect_ms_max  REAL    NOT NULL,
    recs            BLOB    NOT NULL,
    PRIMARY KEY (probe_id, hour)
) WITHOUT ROWID;

INSERT INTO report_hours (probe_id, hour, reports, closed, attempts, successes, connect_n,
                          connect_ms_sum, connect_ms_max, recs)
SELECT probe_id, h, COUNT(*), SUM(stca2_port_closed), 0, 0, 0, 0, 0,
       unhex(group_concat(printf('%016x%08x', 0, started_at - h * 3600000), ''))
  FROM (SELECT probe_id, started_at, stca2_port_closed,
               (started_at - ((started_at % 3600000) + 3600000) % 3600000) / 3600000 AS h FROM reports) r
 GROUP BY probe_id, h;
