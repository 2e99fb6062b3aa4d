-- session_sync_write gains an OUT parameter (purchases_examined): a new signature.
DROP FUNCTION session_sync.session_sync_write(uuid[], bigint, text);
