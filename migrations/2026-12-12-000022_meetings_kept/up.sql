-- The meetings report of the country read every cell's meetings of the year (4.4 million on the national registry,
-- 4.6 s) and probed the attendance of the 1.1 million meetings with someone absent without an excuse (6.1 s), past
-- the statement timeout. What it needs is now kept as the writes happen, in the same transaction:
--
-- 1. `meeting_years`, per organisation and year: its meetings, the regular and thematic meetings of each month
--    (twelve elements, January first, so that a deleted meeting can be taken back), the members expected and
--    present over all meetings, and the meetings of good quality. Maintained from the meetings' rows, which keep
--    their own attendance figures (migration 000015).
-- 2. `meeting_absences`, per organisation, year and member: its unexcused absences in each month, at meetings held
--    by that organisation, with the number of months that have one (`absent_months`); the members the report
--    lists, three months or more, are found through a partial index. Maintained from the attendance and from a
--    meeting that moves to another organisation or month.
--
-- A meeting's attendance is no longer deleted by cascade: the attendance's triggers need the meeting to find its
-- organisation and month, and a cascade runs once the meeting is gone. The service deletes the attendance first.

-- Element-wise sum of two arrays of the same length; NULL counts as zeros.
CREATE FUNCTION pb_array_add(a integer[], b integer[]) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b
                WHEN b IS NULL THEN a
                ELSE ARRAY(SELECT x + y FROM unnest(a, b) WITH ORDINALITY u(x, y, i) ORDER BY i) END
$$;

-- Twelve counts, January first: the sum of `counts` at each month of `months` (1-12); zeros when both are NULL.
CREATE FUNCTION pb_month_counts(months integer[], counts integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(x.n, 0) ORDER BY k)
    FROM generate_series(1, 12) k
    LEFT JOIN (SELECT m, sum(c)::integer AS n FROM unnest(months, counts) u(m, c) GROUP BY m) x ON x.m = k
$$;

-- How many of the twelve counts are above zero.
CREATE FUNCTION pb_months_with(counts integer[]) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT count(*)::integer FROM unnest(counts) c WHERE c > 0
$$;

CREATE TABLE meeting_years (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    year            integer NOT NULL,
    meetings        integer NOT NULL,
    regular         integer[] NOT NULL,
    thematic        integer[] NOT NULL,
    expected        integer NOT NULL,
    present         integer NOT NULL,
    good_quality    integer NOT NULL,
    PRIMARY KEY (organisation_id, year)
);

CREATE TABLE meeting_absences (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    year            integer NOT NULL,
    member_id       uuid NOT NULL,
    months          integer[] NOT NULL,
    absent_months   integer NOT NULL GENERATED ALWAYS AS (pb_months_with(months)) STORED,
    PRIMARY KEY (organisation_id, year, member_id)
);

CREATE INDEX meeting_absences_listed_idx ON meeting_absences (organisation_id, year) INCLUDE (member_id, absent_months)
    WHERE absent_months >= 3;

-- (`member_id` has no foreign key: a member's absences come from its attendance, whose key already keeps the member
-- from being deleted, and a key here would make every member's deletion scan this table.)
--
-- Writers of the same organisation and year wait for each other until they commit. So that they never wait in a
-- circle, each statement writes its rows in key order, and every write path locks `meeting_years` before
-- `meeting_absences`: the attendance's triggers below are named so that they fire after the attendance count's
-- triggers (migration 000015), which update the meeting and so its year's figures.

-- Takes the figures of the meetings `removed` away and adds those of `added`.
CREATE FUNCTION meeting_years_add(removed meetings[], added meetings[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO meeting_years AS k (organisation_id, year, meetings, regular, thematic, expected, present,
                                    good_quality)
    SELECT c.organisation_id, extract(year FROM c.held_on)::integer, sum(c.sign)::integer,
           pb_month_counts(array_agg(extract(month FROM c.held_on)::integer) FILTER (WHERE c.kind = 'regular'),
                           array_agg(c.sign) FILTER (WHERE c.kind = 'regular')),
           pb_month_counts(array_agg(extract(month FROM c.held_on)::integer) FILTER (WHERE c.kind = 'thematic'),
                           array_agg(c.sign) FILTER (WHERE c.kind = 'thematic')),
           sum(c.sign * c.expected)::integer, sum(c.sign * c.present)::integer,
           coalesce(sum(c.sign) FILTER (WHERE c.expected > 0 AND c.present * 100 > c.expected * 85
                                          AND c.unexcused = 0), 0)::integer
    FROM (SELECT -1 AS sign, r.organisation_id, r.held_on, r.kind, r.expected, r.present, r.unexcused
          FROM unnest(removed) r
          UNION ALL
          SELECT 1, a.organisation_id, a.held_on, a.kind, a.expected, a.present, a.unexcused
          FROM unnest(added) a) c
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (organisation_id, year) DO UPDATE
        SET meetings = k.meetings + EXCLUDED.meetings,
            regular = pb_array_add(k.regular, EXCLUDED.regular),
            thematic = pb_array_add(k.thematic, EXCLUDED.thematic),
            expected = k.expected + EXCLUDED.expected,
            present = k.present + EXCLUDED.present,
            good_quality = k.good_quality + EXCLUDED.good_quality
$$;

-- Adds unexcused absences (`signs` 1), or takes them away (-1): the members absent from a meeting of an
-- organisation on a day.
CREATE FUNCTION meeting_absences_add(orgs uuid[], days date[], absentees uuid[], signs integer[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO meeting_absences AS k (organisation_id, year, member_id, months)
    SELECT u.o, extract(year FROM u.d)::integer, u.mb,
           pb_month_counts(array_agg(extract(month FROM u.d)::integer), array_agg(u.s))
    FROM unnest(orgs, days, absentees, signs) AS u(o, d, mb, s)
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (organisation_id, year, member_id) DO UPDATE SET months = pb_array_add(k.months, EXCLUDED.months)
$$;

CREATE FUNCTION meetings_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM meeting_years_add('{}', ARRAY(SELECT a::meetings FROM added a));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM meeting_years_add(ARRAY(SELECT r::meetings FROM removed r), '{}');
    ELSE
        -- A corrected topic changes no figure. (A transition table's rows are records: they are cast back.)
        PERFORM meeting_years_add(array_agg(r::meetings), array_agg(a::meetings))
        FROM removed r JOIN added a USING (id)
        WHERE (r.organisation_id, r.held_on, r.kind, r.expected, r.present, r.unexcused)
              IS DISTINCT FROM (a.organisation_id, a.held_on, a.kind, a.expected, a.present, a.unexcused);
        -- A meeting moved to another organisation or month takes its unexcused absences along: those of its
        -- attendance as it stands after the statement (a statement that also changes that attendance is not
        -- counted right; the service moves no meeting).
        PERFORM meeting_absences_add(array_agg(x.o), array_agg(x.d), array_agg(t.member_id), array_agg(x.s))
        FROM removed r
        JOIN added a USING (id)
        CROSS JOIN LATERAL (VALUES (r.organisation_id, r.held_on, -1), (a.organisation_id, a.held_on, 1)) x(o, d, s)
        JOIN meeting_attendance t ON t.meeting_id = r.id AND t.status = 'absent_unexcused'
        WHERE (r.organisation_id, date_trunc('month', r.held_on))
              IS DISTINCT FROM (a.organisation_id, date_trunc('month', a.held_on));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER meetings_kept_insert AFTER INSERT ON meetings REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_kept();
CREATE TRIGGER meetings_kept_update AFTER UPDATE ON meetings REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_kept();
CREATE TRIGGER meetings_kept_delete AFTER DELETE ON meetings REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_kept();

CREATE FUNCTION meeting_attendance_absences() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM meeting_absences_add(array_agg(m.organisation_id), array_agg(m.held_on), array_agg(r.member_id),
                                     array_agg(-1))
        FROM removed r JOIN meetings m ON m.id = r.meeting_id
        WHERE r.status = 'absent_unexcused';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM meeting_absences_add(array_agg(m.organisation_id), array_agg(m.held_on), array_agg(a.member_id),
                                     array_agg(1))
        FROM added a JOIN meetings m ON m.id = a.meeting_id
        WHERE a.status = 'absent_unexcused';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER meeting_attendance_kept_insert AFTER INSERT ON meeting_attendance REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_absences();
CREATE TRIGGER meeting_attendance_kept_update AFTER UPDATE ON meeting_attendance
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_absences();
CREATE TRIGGER meeting_attendance_kept_delete AFTER DELETE ON meeting_attendance REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_absences();

-- The same key without the cascade. Every row already satisfies it; validating reads the attendance once.
ALTER TABLE meeting_attendance
    DROP CONSTRAINT meeting_attendance_meeting_id_fkey,
    ADD CONSTRAINT meeting_attendance_meeting_id_fkey FOREIGN KEY (meeting_id) REFERENCES meetings (id) NOT VALID;
ALTER TABLE meeting_attendance VALIDATE CONSTRAINT meeting_attendance_meeting_id_fkey;

-- Counts the kept figures of the organisations whose id's first byte is `part` modulo `parts`, into tables that
-- hold none of theirs (the migration below, and `bench/year.sql` after a load with its triggers off, in parts side
-- by side). An organisation's meetings are read through their index, a byte's range of ids at a time.
CREATE FUNCTION meetings_kept_count(part integer, parts integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    low uuid;
    high uuid;
BEGIN
    FOR b IN 0 .. 255 LOOP
        CONTINUE WHEN b % parts <> part;
        low := (lpad(to_hex(b), 2, '0') || '000000-0000-0000-0000-000000000000')::uuid;
        high := CASE WHEN b < 255 THEN (lpad(to_hex(b + 1), 2, '0') || '000000-0000-0000-0000-000000000000')::uuid END;
        PERFORM meeting_years_add('{}', ARRAY(
            SELECT m FROM meetings m WHERE m.organisation_id >= low AND (high IS NULL OR m.organisation_id < high)));
        PERFORM meeting_absences_add(array_agg(m.organisation_id), array_agg(m.held_on), array_agg(t.member_id),
                                     array_agg(1))
        FROM meetings m
        JOIN meeting_attendance t ON t.meeting_id = m.id AND t.status = 'absent_unexcused'
        WHERE m.unexcused > 0 AND m.organisation_id >= low AND (high IS NULL OR m.organisation_id < high);
    END LOOP;
END
$$;

SELECT meetings_kept_count(0, 1);
