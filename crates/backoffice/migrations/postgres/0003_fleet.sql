-- Fleet scale (issue 11): storage that grows with change, not with time.
--
-- `reports` keeps a report's full body only when the probe's state changed
-- (port statuses, CA family, chain fingerprint, recommendation, finding
-- codes: `state_key`); every report, changed or not, is counted once in
-- `report_hours` (one row per probe and hour: counters, latency and loss
-- aggregates, and a 12-byte record per report that makes a retry a
-- duplicate); `latest` holds the latest report's body.

ALTER TABLE reports ADD COLUMN state_key TEXT;
ALTER TABLE reports ALTER COLUMN body SET COMPRESSION lz4;

ALTER TABLE latest
    ADD COLUMN body           TEXT COMPRESSION lz4,
    ADD COLUMN finished_at    BIGINT,
    ADD COLUMN received_at    BIGINT,
    ADD COLUMN state_key      TEXT,
    ADD COLUMN prev_state_key TEXT,
    ADD COLUMN state_since    BIGINT,
    ADD COLUMN state_reports  BIGINT NOT NULL DEFAULT 0;

UPDATE latest l SET body = r.body, finished_at = r.finished_at, received_at = r.received_at,
       state_since = r.started_at, state_reports = 1
  FROM reports r WHERE r.report_id = l.report_id;

-- One row per probe and hour (hour = floor(started_at / 3,600,000)) of
-- check start. `recs` holds, per report counted, 8 bytes of SHA-256 of its
-- report_id and 4 bytes of its start's offset in the hour (ms, big-endian).
-- Partitioned by day; the server creates partitions ahead
-- (stca2_report_hours_ensure) and retention drops whole partitions.
CREATE TABLE report_hours (
    probe_id        TEXT             NOT NULL,
    hour            BIGINT           NOT NULL,
    reports         INTEGER          NOT NULL,
    closed          INTEGER          NOT NULL,
    attempts        INTEGER          NOT NULL,
    successes       INTEGER          NOT NULL,
    connect_n       INTEGER          NOT NULL,
    connect_ms_sum  DOUBLE PRECISION NOT NULL,
    connect_ms_max  REAL             NOT NULL,
    recs            BYTEA            NOT NULL,
    PRIMARY KEY (probe_id, hour)
) PARTITION BY RANGE (hour);
-- Rows outside every day partition (a clock far off) land here; retention
-- deletes them in batches.
CREATE TABLE report_hours_default PARTITION OF report_hours DEFAULT;

-- Creates the day partitions of report_hours for days first..last (days
-- since 1970-01-01 UTC) that do not exist yet; skips a day whose rows are
-- already in the default partition (they stay there until retention).
CREATE FUNCTION stca2_report_hours_ensure(first_day BIGINT, last_day BIGINT) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    d INTEGER;
    made INTEGER := 0;
    part TEXT;
BEGIN
    FOR d IN first_day..last_day LOOP
        part := 'report_hours_d' || d;
        CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM report_hours_default
                              WHERE hour >= d::BIGINT * 24 AND hour < (d::BIGINT + 1) * 24);
        EXECUTE format('CREATE TABLE %I PARTITION OF report_hours FOR VALUES FROM (%s) TO (%s)',
                       part, d::BIGINT * 24, (d::BIGINT + 1) * 24);
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;

-- Moves the existing history into the new layout: a partition for every
-- day of the last 366 days it covers (older hours, e.g. a box whose clock
-- started in 1970, stay in the default partition: one stray timestamp must
-- not create thousands of partitions in one transaction), then one row per
-- probe and hour. Migrated reports keep their bodies in `reports` (which
-- also makes their retries duplicates).
WITH span AS (SELECT floor(MIN(started_at) / 86400000.0)::BIGINT AS first_day,
                     floor(MAX(started_at) / 86400000.0)::BIGINT AS last_day FROM reports)
SELECT stca2_report_hours_ensure(COALESCE(GREATEST(first_day, last_day - 365), 0),
                                 COALESCE(last_day, -1))
  FROM span;

INSERT INTO report_hours (probe_id, hour, reports, closed, attempts, successes, connect_n,
                          connect_ms_sum, connect_ms_max, recs)
SELECT probe_id, h, COUNT(*), COUNT(*) FILTER (WHERE stca2_port_closed), 0, 0, 0, 0, 0,
       string_agg(int8send(0::BIGINT) || int4send((started_at - h * 3600000)::INTEGER), ''::BYTEA)
  FROM (SELECT probe_id, started_at, stca2_port_closed,
               floor(started_at / 3600000.0)::BIGINT AS h FROM reports) r
 GROUP BY probe_id, h;
