"""Each rule has one definition (issue 14): the helpers, and the two places that must spell a rule
out (a trigger's WHEN clause, a partial index's predicate) agree with them."""

from __future__ import annotations

import uuid

import pytest


@pytest.mark.parametrize("trainer, status, expected", [
    (True, "ASSIGNED", True), (False, "ASSIGNED", False), (True, "WAITLISTED", False), (True, "assigned", False),
    (True, None, False), (False, None, False),
])
def test_eligible_and_the_insert_triggers_when_clause_agree(db, trainer, status, expected):
    trainer_id = uuid.uuid4() if trainer else None
    assert db.value("SELECT session_sync.session_sync_eligible(%s, %s)", trainer_id, status) is expected
    # The note trigger's WHEN clause spells out the same rule.
    clause = db.value("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'session_sync_note_purchases_insert'")
    assert "(new.trainer_id IS NOT NULL) AND ((new.status)::text = 'ASSIGNED'::text)" in clause


@pytest.mark.parametrize("status, expected", [
    ("approved", True), ("active", True), ("requested", False), ("rejected", False), ("Approved", False),
])
def test_allocation_usable_and_the_lookup_index_agree(db, status, expected):
    assert db.value("SELECT session_sync.session_sync_allocation_usable(%s)", status) is expected
    predicate = db.value("""SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i
                            WHERE i.indexrelid = 'session_sync_trainer_allocations_lookup_idx'::regclass""")
    assert predicate == "(status = ANY (ARRAY['approved'::text, 'active'::text]))"
    assert db.value(f"SELECT %s::text = ANY (ARRAY['approved'::text, 'active'::text])", status) is expected


def test_the_lookup_index_serves_the_allocation_lookup(db):
    db.execute("SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in db.rows("""EXPLAIN SELECT al.id FROM trainer_allocations al
        WHERE al.student_id = gen_random_uuid() AND al.trainer_id = gen_random_uuid()
          AND al.course_id = gen_random_uuid() AND session_sync.session_sync_allocation_usable(al.status)"""))
    assert "session_sync_trainer_allocations_lookup_idx" in plan


def test_every_reason_has_a_hint(db):
    assert db.rows("""SELECT r.reason FROM session_sync.session_sync_reasons() r
                      WHERE session_sync.session_sync_hint(r.reason) IS DISTINCT FROM r.hint
                         OR r.hint IS NULL""") == []
    assert db.value("SELECT session_sync.session_sync_hint('NO_SUCH_REASON')") is None


PURCHASE = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")


@pytest.mark.parametrize("metadata", [
    {"purchaseId": str(PURCHASE)}, {"purchaseId": str(PURCHASE).upper()}, {"purchaseId": "{" + str(PURCHASE) + "}"},
    {"purchaseId": str(PURCHASE).replace("-", "")}, {"purchaseId": str(PURCHASE) + " "},
    {"purchaseId": str(uuid.uuid4())}, {"purchaseId": None}, {"purchaseId": 7}, {"purchaseId": [str(PURCHASE)]},
    {}, [str(PURCHASE)], str(PURCHASE), None,
])
def test_owned_by_agrees_with_owner(db, metadata):
    """session_sync_owned_by compares text first; it must answer as session_sync_owner(...) = id
    (NULL counted as false) for every spelling, including those it does not take a fast path for."""
    import json
    value = None if metadata is None else json.dumps(metadata)
    owned, owner = db.one("SELECT session_sync.session_sync_owned_by(%s::jsonb, %s),"
                          " session_sync.session_sync_owner(%s::jsonb)", value, PURCHASE, value)
    assert owned is (owner == PURCHASE)
    assert db.value("SELECT session_sync.session_sync_owned_by(%s::jsonb, NULL)", value) is False
