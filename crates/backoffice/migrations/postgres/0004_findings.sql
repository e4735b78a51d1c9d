-- The console at fleet size. The finding codes of each probe's latest report, each between commas
-- (',interception,old_ca,'), so that the console's lists and counts of a
-- finding walk a partial index instead of parsing every latest body.
-- The SQLite file of the same number holds the same column and indexes;
-- the predicates are spelled exactly as store/console.rs asks them (`_` is
-- a wildcard of LIKE, hence the escape).

-- The backfill reads every latest body: on a large fleet it takes longer
-- than the pool's statement_timeout, which must not roll the upgrade back.
SET LOCAL statement_timeout = 0;

ALTER TABLE latest ADD COLUMN findings TEXT NOT NULL DEFAULT '';

UPDATE latest SET findings = COALESCE(
    (SELECT ',' || string_agg(DISTINCT f ->> 'code', ',' ORDER BY f ->> 'code') || ','
       FROM jsonb_array_elements(CASE jsonb_typeof(latest.body::jsonb -> 'summary' -> 'findings')
                                 WHEN 'array' THEN latest.body::jsonb -> 'summary' -> 'findings'
                                 ELSE '[]'::jsonb END) f
      WHERE f ->> 'code' ~ '^[a-z0-9_]+$'), '')
 WHERE body IS NOT NULL;

CREATE INDEX latest_f_interception ON latest (probe_id) WHERE findings LIKE '%,interception,%' ESCAPE '\';
CREATE INDEX latest_f_old_ca ON latest (probe_id) WHERE findings LIKE '%,old\_ca,%' ESCAPE '\';
CREATE INDEX latest_f_expiring ON latest (probe_id) WHERE findings LIKE '%,expiring,%' ESCAPE '\';

-- The dashboard counts each number on an index, never reading the rows
-- (which hold the latest bodies): the probes ready for site 2, and the
-- silent ones (by the start of their latest report).
CREATE INDEX latest_secondary_ready ON latest (probe_id) WHERE recommendation = 'configure_secondary';
CREATE INDEX latest_started ON latest (started_at);
