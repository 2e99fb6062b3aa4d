-- sync_all_sessions() returns three more columns (purchases_examined, purchases_in_sync,
-- purchases_deferred): a new return type, so the function is dropped and created again (its
-- privileges are set again by session_sync_runner.sql).
DROP FUNCTION public.sync_all_sessions(boolean, text);
