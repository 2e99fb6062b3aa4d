CREATE OR REPLACE FUNCTION session_sync.session_sync_eligible(p_trainer_id uuid, p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_trainer_id IS NOT NULL AND coalesce(p_status = 'ASSIGNED', false);

COMMENT ON FUNCTION session_sync.session_sync_eligible IS 'session_sync_eligible(p_trainer_id uuid, p_status text) -> boolean
Contract: whether a purchase with this trainer and status is synced: a trainer is set and the
status is ASSIGNED (never NULL). The one definition of "eligible": the views, the tracking triggers''
functions and session_sync_enqueue read it. (The WHEN clause of the trigger
session_sync_note_purchases_insert spells it out, because a function called there would need
EXECUTE for every role that writes course_purchases; tests/test_rules.py checks the two agree.)';
