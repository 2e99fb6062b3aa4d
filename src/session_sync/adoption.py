"""Before the baseline adopts existing platform tables (migrations/env.py, at no revision yet): one
error lists every column of ``REQUIRED`` missing or of another type; nothing is created."""

REQUIRED: dict[str, dict[str, str]] = {
    "course_purchases": {
        "id": "uuid", "booking_id": "uuid", "course_id": "uuid", "class_type": "text", "total_sessions": "integer",
        "delivery_mode": "text", "start_date": "date", "preferred_time_slot": "text", "student_location": "jsonb",
        "students": "jsonb", "trainer_id": "uuid", "status": "text", "created_at": "timestamptz"},
    "purchase_sessions": {
        "id": "uuid", "purchase_id": "uuid", "booking_id": "uuid", "session_number": "integer",
        "session_date": "date", "session_time": "text", "session_type": "text", "status": "text",
        "metadata": "jsonb"},
    "trainer_allocations": {
        "id": "uuid", "student_id": "uuid", "trainer_id": "uuid", "course_id": "uuid", "requested_by": "uuid",
        "requested_at": "timestamptz", "status": "text", "allocated_at": "timestamptz", "metadata": "jsonb"},
    "tutoring_sessions": {
        "id": "uuid", "allocation_id": "uuid", "student_id": "uuid", "trainer_id": "uuid", "course_id": "uuid",
        "scheduled_date": "date", "scheduled_time": "text", "duration": "integer", "status": "text",
        "student_home_location": "jsonb", "metadata": "jsonb", "updated_at": "timestamptz"},
}

CHECK = r"""
DO $check$
DECLARE v_problems text;
BEGIN
    SELECT pg_catalog.string_agg(CASE WHEN a.attname IS NULL THEN pg_catalog.format('%%s lacks %%s (%%s)', r.tbl, r.col, r.typ)
        ELSE pg_catalog.format('%%s.%%s is %%s, not %%s', r.tbl, r.col, pg_catalog.format_type(a.atttypid, NULL), r.typ) END,
        '; ' ORDER BY r.tbl, r.col) INTO v_problems
    FROM (VALUES %(required)s) AS r (tbl, col, typ)
    JOIN pg_catalog.pg_type need ON need.oid OPERATOR(pg_catalog.=) r.typ::pg_catalog.regtype
    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('public.' OPERATOR(pg_catalog.||) r.tbl)
        AND a.attname OPERATOR(pg_catalog.=) r.col AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_type got ON got.oid OPERATOR(pg_catalog.=) a.atttypid
    WHERE pg_catalog.to_regclass('public.' OPERATOR(pg_catalog.||) r.tbl) IS NOT NULL
      AND (a.attname IS NULL OR NOT (got.oid OPERATOR(pg_catalog.=) need.oid
           OR (got.typcategory OPERATOR(pg_catalog.=) 'S' AND need.typcategory OPERATOR(pg_catalog.=) 'S')
           OR (got.typname OPERATOR(pg_catalog.=) ANY ('{timestamp,timestamptz}'::pg_catalog.name[])
               AND need.typname OPERATOR(pg_catalog.=) ANY ('{timestamp,timestamptz}'::pg_catalog.name[]))));
    IF v_problems IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42703', MESSAGE = 'session-sync cannot adopt the platform''s tables: '
            OPERATOR(pg_catalog.||) v_problems OPERATOR(pg_catalog.||) '; nothing was changed',
            HINT = 'session-sync reads these columns: add them (or give them these types), then run the migration again.';
    END IF;
END
$check$
""" % {"required": ", ".join(f"('{table}', '{column}', '{kind}')"
                             for table, columns in REQUIRED.items() for column, kind in columns.items())}
