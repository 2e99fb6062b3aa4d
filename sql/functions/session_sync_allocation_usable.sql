CREATE OR REPLACE FUNCTION session_sync.session_sync_allocation_usable(p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_status IN ('approved', 'active');

COMMENT ON FUNCTION session_sync.session_sync_allocation_usable IS 'session_sync_allocation_usable(p_status text) -> boolean
Contract: whether a trainer allocation with this status can carry tutoring sessions
(approved or active); the one definition, which the partial index
session_sync_trainer_allocations_lookup_idx spells out (tests/test_rules.py checks they agree).';
