-- session_sync_apply gained two optional arguments (the purchases with missing and with
-- drifted sessions); the one-argument version of 0002 goes.
DROP FUNCTION public.session_sync_apply(uuid[]);
