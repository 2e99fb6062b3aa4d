-- Run last, once session_sync_failure_message no longer quotes them (a failure recorded by a
-- platform write while this revision runs is scrubbed too).
-- No student contact data in the package's records: the messages of revisions before 0009
-- quoted the whole students value (names, e-mails, phones) for NO_STUDENT and the whole
-- student_location (address) for MISSING_LOCATION and INVALID_COORDINATES.
UPDATE public.session_sync_failures f
SET message = pg_catalog.regexp_replace(f.message, ' \((students|student_location) is .*$',
                                        ' (details removed by session-sync 0009)')
WHERE f.reason OPERATOR(pg_catalog.=) ANY (ARRAY['NO_STUDENT', 'MISSING_LOCATION', 'INVALID_COORDINATES'])
  AND f.message OPERATOR(pg_catalog.~) ' \((students|student_location) is ';
