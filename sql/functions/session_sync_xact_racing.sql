CREATE OR REPLACE FUNCTION session_sync.session_sync_xact_racing(p_xmax xid)
RETURNS boolean
LANGUAGE sql
VOLATILE PARALLEL UNSAFE
RETURN NOT (p_xmax = '0'::xid)
   AND NOT (p_xmax = xid(pg_current_xact_id()))
   AND NOT pg_visible_in_snapshot(
           ((((pg_current_xact_id()::text::bigint >> 32)
              - CASE WHEN p_xmax::text::bigint > (pg_current_xact_id()::text::bigint & 4294967295) THEN 1 ELSE 0 END)
             << 32) | p_xmax::text::bigint)::text::xid8,
           pg_current_snapshot());

COMMENT ON FUNCTION session_sync.session_sync_xact_racing IS 'session_sync_xact_racing(p_xmax xid) -> boolean
Contract: whether a row version this statement sees was updated, deleted or locked by another
transaction that its snapshot does not see as finished: one still in progress, or one that
committed after the snapshot was taken (its writes are invisible here, and its own sync could
not see this transaction''s). False for no xmax, for this transaction''s own, and for a
transaction the snapshot sees as done. The 32-bit xmax is widened with the current epoch.
(A row locked by several transactions at once carries a multixact id in xmax, not an xid;
the platform''s tables have no foreign keys pointing at them, so their rows seldom do, and a
wrong answer only queues a purchase for another look.)';
