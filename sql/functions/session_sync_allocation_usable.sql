CREATE OR REPLACE FUNCTION session_sync.session_sync_allocation_usable(p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_status IN ('approved', 'active');

COMMENT ON FUNCTION session_sync.session_sync_allocation_usable IS 'session_sync_allocation_usable(p_status text) -> boolean
Contract: whether a trainer allocation with this status can carry tutoring sessions: approved
or active. Among the usable allocations of a (student, trainer, course) the sync takes the
approved one first, then the earliest requested (session_sync_expected); it creates one only
when none is usable. The one definition: the views, the write routine, the allocation
tracking trigger and session_sync_diagnose read it. (The partial index
session_sync_trainer_allocations_lookup_idx spells it out; tests/test_rules.py checks the two
agree.)';
