-- The state, kept for what it is (issue 11). The PostgreSQL file of the
-- same number adds the same column (and autovacuum settings SQLite has no
-- use for).
--
-- `latest.spool_dropped`: how many reports the probe's spool has dropped,
-- as its newest report says. A report that says what its probe's state
-- says no longer rewrites the state's body (the body is the state's first
-- report), and this count moves at every cycle while a spool is at its
-- bound, so it is a column of its own, not part of the state.

ALTER TABLE latest ADD COLUMN spool_dropped INTEGER;
-- The report that began the state (its body is `latest.body`): the export
-- of closed probes takes that report's upload address from `reports`.
ALTER TABLE latest ADD COLUMN state_report_id TEXT;

UPDATE latest SET spool_dropped = json_extract(body, '$.probe.spool_dropped')
 WHERE body IS NOT NULL AND json_valid(body)
   AND json_type(body, '$.probe.spool_dropped') = 'integer';
