-- A year (2024) of cell meetings, attendance and party dues over the registry of `national.sql`, for the meetings
-- and dues reports: every cell and base cell holds a regular meeting in most months (one in 30 months is missed)
-- and a thematic meeting in most quarters; each meeting lists its current, non-exempt members (those admitted by
-- then), about 90% present, 8% excused and 2% absent without an excuse; those members pay their dues for every
-- month from their admission, bar one month in 40. Run after `national.sql` (`bench/run national` does both):
--   psql -h 127.0.0.1 -U postgres -d pb_national -f bench/year.sql
-- As there, the rows are made set-based, the largest statements in parts side by side (`parts.sql`), with triggers
-- and foreign key checks off and the secondary indexes built after the load; each meeting's attendance figures are
-- counted from its attendance in the same statement that inserts the meetings.
\set ON_ERROR_STOP on
\timing on
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 2;
SET work_mem = '256MB';
SET session_replication_role = replica;
\ir parts.sql

CREATE TEMP TABLE dropped_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid IN ('meetings'::regclass, 'meeting_attendance'::regclass, 'dues'::regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
SELECT format('DROP INDEX %s', name) FROM dropped_indexes \gexec
-- Keys too: inserting tens of millions of random ids into a primary key index one by one is what costs most.
ALTER TABLE meeting_attendance DROP CONSTRAINT meeting_attendance_pkey;
ALTER TABLE dues DROP CONSTRAINT dues_pkey, DROP CONSTRAINT dues_member_id_period_key;

-- The meetings held, a table the other sessions see (dropped at the end).
CREATE UNLOGGED TABLE bench_held AS
SELECT gen_random_uuid() AS id, o.id AS organisation_id, make_date(2024, month, 5 + (hashtext(o.id::text) & 2147483647) % 10)
           AS held_on, 'regular' AS kind
FROM organisations o CROSS JOIN generate_series(1, 12) month
WHERE o.kind IN ('cell', 'base_cell') AND (hashtext(o.id::text || month) & 2147483647) % 30 <> 0;
INSERT INTO bench_held
SELECT gen_random_uuid(), o.id, make_date(2024, 3 * quarter - 1, 20), 'thematic'
FROM organisations o CROSS JOIN generate_series(1, 4) quarter
WHERE o.kind IN ('cell', 'base_cell') AND (hashtext(o.id::text || 'q' || quarter) & 2147483647) % 12 <> 0;
ANALYZE bench_held;

-- In parts (`parts.sql`) that split the meetings by the first byte of their id.
SELECT pg_temp.side_by_side($attendance$
INSERT INTO meeting_attendance (meeting_id, member_id, status)
SELECT h.id, m.id,
       CASE WHEN (hashtext(h.id::text || m.id::text) & 2147483647) % 100 < 90 THEN 'present'
            WHEN (hashtext(h.id::text || m.id::text) & 2147483647) % 100 < 98 THEN 'absent_excused'
            ELSE 'absent_unexcused' END
FROM bench_held h
JOIN members m ON m.organisation_id = h.organisation_id
WHERE m.status IN ('probationary', 'official') AND m.admitted_on <= h.held_on
  AND get_byte(uuid_send(h.id), 0) % {parts} = {part}
$attendance$);

SELECT pg_temp.side_by_side($meetings$
INSERT INTO meetings (id, organisation_id, held_on, kind, topic, expected, present, unexcused)
SELECT h.id, h.organisation_id, h.held_on, h.kind,
       CASE WHEN h.kind = 'thematic' THEN 'Sinh hoạt chuyên đề quý ' || extract(quarter FROM h.held_on) END,
       coalesce(a.expected, 0), coalesce(a.present, 0), coalesce(a.unexcused, 0)
FROM bench_held h
LEFT JOIN (SELECT meeting_id, count(*) AS expected, count(*) FILTER (WHERE status = 'present') AS present,
                  count(*) FILTER (WHERE status = 'absent_unexcused') AS unexcused
           FROM meeting_attendance WHERE get_byte(uuid_send(meeting_id), 0) % {parts} = {part}
           GROUP BY meeting_id) a ON a.meeting_id = h.id
WHERE get_byte(uuid_send(h.id), 0) % {parts} = {part}
$meetings$);

-- In parts that split the members by the first byte of their id.
SELECT pg_temp.side_by_side($dues$
INSERT INTO dues (id, member_id, organisation_id, period, amount, paid_on)
SELECT gen_random_uuid(), m.id, m.organisation_id, to_char(make_date(2024, month, 1), 'YYYY-MM'),
       (ARRAY[5000, 20000, 35000, 50000, 80000])[1 + (hashtext(m.id::text) & 2147483647) % 5],
       make_date(2024, month, 10)
FROM members m CROSS JOIN generate_series(1, 12) month
WHERE m.status IN ('probationary', 'official')
  AND m.admitted_on < make_date(2024, month, 1) + interval '1 month'
  AND (hashtext(m.id::text || month) & 2147483647) % 40 <> 0
  AND get_byte(uuid_send(m.id), 0) % {parts} = {part}
$dues$);

RESET session_replication_role;
ALTER TABLE meeting_attendance ADD PRIMARY KEY (meeting_id, member_id);
ALTER TABLE dues ADD PRIMARY KEY (id), ADD CONSTRAINT dues_member_id_period_key UNIQUE (member_id, period);
SELECT definition FROM dropped_indexes \gexec
-- The figures the triggers would have kept: the meetings' (the organisations split by the first byte of their id)
-- and the dues'.
TRUNCATE meeting_years, meeting_absences;
SELECT pg_temp.side_by_side($kept$ SELECT meetings_kept_count({part}, {parts}) $kept$);
TRUNCATE dues_counts, dues_spans, dues_open, dues_members, dues_stale;
SELECT pg_temp.dues_count_in_parts();
DROP TABLE bench_held;
DROP EXTENSION dblink;
-- The kept figures too: rewritten from nothing, their pages are not yet marked all-visible, and the reports read
-- them by index only (a province's dues report took 914 ms in the service before, 265 ms after).
VACUUM (ANALYZE) meetings, meeting_attendance, meeting_years, meeting_absences, dues, dues_members, dues_spans,
    dues_open, dues_counts;
SELECT (SELECT count(*) FROM meetings) AS meetings, (SELECT count(*) FROM meeting_attendance) AS attendance,
       (SELECT count(*) FROM dues) AS dues;
