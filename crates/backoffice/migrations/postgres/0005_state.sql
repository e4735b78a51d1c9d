-- The state, kept for what it is (issue 11). The SQLite file of the same
-- number adds the same column.
--
-- `latest.spool_dropped`: how many reports the probe's spool has dropped,
-- as its newest report says. A report that says what its probe's state
-- says no longer rewrites the state's body (the body is the state's first
-- report), and this count moves at every cycle while a spool is at its
-- bound, so it is a column of its own, not part of the state.
-- The backfill reads every latest body: on a large fleet it takes longer
-- than the pool's statement_timeout, which must not roll the upgrade back.
SET LOCAL statement_timeout = 0;

ALTER TABLE latest ADD COLUMN spool_dropped BIGINT;
-- The report that began the state (its body is `latest.body`): the export
-- of closed probes takes that report's upload address from `reports`.
ALTER TABLE latest ADD COLUMN state_report_id TEXT;

UPDATE latest SET spool_dropped = LEAST((body::jsonb #>> '{probe,spool_dropped}')::NUMERIC,
                                        9223372036854775807)::BIGINT
 WHERE body IS NOT NULL AND jsonb_typeof(body::jsonb #> '{probe,spool_dropped}') = 'number';

-- The two tables every report updates, kept compact by autovacuum
-- (PostgreSQL only: SQLite reuses freed pages at once).
--
-- `latest`: one row per probe, updated by every report. Since this version
-- a report that says what its probe's state says no longer rewrites the
-- body (the state's first report stays), so each update writes a row of
-- columns and the body's TOAST is written once per change of state; but
-- `started_at` is indexed (the dashboard's silent probes), so updates are
-- not HOT and each leaves a dead version for vacuum: vacuum it once 2 % of
-- it is dead, without the cost-based pauses (the defaults, 20 % and a
-- 2 ms delay, let a national fleet's `latest` grow several times over).
ALTER TABLE latest SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 0,
    toast.autovacuum_vacuum_scale_factor = 0.02,
    toast.autovacuum_vacuum_cost_delay = 0
);

-- `report_hours`: each hour row is updated by each report of its hour (12
-- at five-minute checks), and grows by 12 bytes each time. The same
-- settings on every day partition, existing and future (partitioned
-- tables take no storage parameters: stca2_report_hours_ensure creates
-- each partition with them), and a little room on each page (fillfactor
-- 90) for an update to stay on its page (HOT) and be pruned there.
CREATE OR REPLACE FUNCTION stca2_report_hours_ensure(first_day BIGINT, last_day BIGINT) RETURNS INTEGER
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
        EXECUTE format('CREATE TABLE %I PARTITION OF report_hours FOR VALUES FROM (%s) TO (%s) '
                       'WITH (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02, '
                       'autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0)',
                       part, d::BIGINT * 24, (d::BIGINT + 1) * 24);
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;

DO $$
DECLARE
    part REGCLASS;
BEGIN
    FOR part IN SELECT i.inhrelid::REGCLASS FROM pg_inherits i
                 WHERE i.inhparent = 'report_hours'::REGCLASS LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02, '
                       'autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0)', part);
    END LOOP;
END $$;
