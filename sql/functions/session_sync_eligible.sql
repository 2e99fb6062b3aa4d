CREATE OR REPLACE FUNCTION session_sync.session_sync_eligible(p_trainer_id uuid, p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_trainer_id IS NOT NULL AND coalesce(p_status = 'ASSIGNED', false);

COMMENT ON FUNCTION session_sync.session_sync_eligible IS 'session_sync_eligible(p_trainer_id uuid, p_status text) -> boolean
Contract: whether a purchase is synced: a trainer is set and the status is ASSIGNED; never
NULL. The one definition, which the WHEN clause of session_sync_note_purchases_insert spells
out (tests/test_rules.py checks they agree).';
