-- Counts kept for national-scale reads and writes.
--
-- 1. Member counts in shards. Every admission, transfer and status change used to update the one count row of its
-- organisation and status, and held that row's lock until commit, so concurrent admissions into one cell ran one
-- at a time. Each server process (backend) now writes its own shard, `pg_backend_pid() % 16`, so writers on
-- different connections do not wait for each other; readers add the shards up.
--
-- 2. Current members by political theory level, as four more columns of the same rows, so the political theory
-- report of the whole country adds up a few hundred thousand count rows instead of reading every member.
ALTER TABLE organisation_member_counts
    ADD COLUMN shard              smallint NOT NULL DEFAULT 0,
    ADD COLUMN theory_none        integer NOT NULL DEFAULT 0,
    ADD COLUMN theory_elementary  integer NOT NULL DEFAULT 0,
    ADD COLUMN theory_intermediate integer NOT NULL DEFAULT 0,
    ADD COLUMN theory_advanced    integer NOT NULL DEFAULT 0;

UPDATE organisation_member_counts c
   SET theory_none = t.theory_none, theory_elementary = t.theory_elementary,
       theory_intermediate = t.theory_intermediate, theory_advanced = t.theory_advanced
  FROM (SELECT organisation_id, status,
               count(*) FILTER (WHERE political_theory = 'none') AS theory_none,
               count(*) FILTER (WHERE political_theory = 'elementary') AS theory_elementary,
               count(*) FILTER (WHERE political_theory = 'intermediate') AS theory_intermediate,
               count(*) FILTER (WHERE political_theory = 'advanced') AS theory_advanced
          FROM members GROUP BY organisation_id, status) t
 WHERE c.organisation_id = t.organisation_id AND c.status = t.status;

ALTER TABLE organisation_member_counts DROP CONSTRAINT organisation_member_counts_pkey,
    ADD PRIMARY KEY (organisation_id, status, shard);

-- Adds the members of a statement (+1 for new rows, -1 for old ones) to this backend's shard.
CREATE FUNCTION organisation_member_counts_add(orgs uuid[], statuses text[], theories text[], deltas integer[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO organisation_member_counts AS c
        (organisation_id, status, shard, members, theory_none, theory_elementary, theory_intermediate, theory_advanced)
    SELECT o, s, pg_backend_pid() % 16, sum(d),
           coalesce(sum(d) FILTER (WHERE t = 'none'), 0), coalesce(sum(d) FILTER (WHERE t = 'elementary'), 0),
           coalesce(sum(d) FILTER (WHERE t = 'intermediate'), 0), coalesce(sum(d) FILTER (WHERE t = 'advanced'), 0)
    FROM unnest(orgs, statuses, theories, deltas) AS x(o, s, t, d)
    GROUP BY o, s
    ORDER BY o, s
    ON CONFLICT (organisation_id, status, shard) DO UPDATE
        SET members = c.members + EXCLUDED.members,
            theory_none = c.theory_none + EXCLUDED.theory_none,
            theory_elementary = c.theory_elementary + EXCLUDED.theory_elementary,
            theory_intermediate = c.theory_intermediate + EXCLUDED.theory_intermediate,
            theory_advanced = c.theory_advanced + EXCLUDED.theory_advanced
$$;

-- One call per statement, from its transition tables. An update that changes none of the counted columns adds
-- nothing.
CREATE OR REPLACE FUNCTION members_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM organisation_member_counts_add(array_agg(organisation_id), array_agg(status),
                                           array_agg(political_theory), array_agg(1))
       FROM inserted HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION members_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM organisation_member_counts_add(array_agg(organisation_id), array_agg(status),
                                           array_agg(political_theory), array_agg(-1))
       FROM removed HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION members_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM organisation_member_counts_add(array_agg(organisation_id), array_agg(status),
                                           array_agg(political_theory), array_agg(delta))
       FROM (SELECT n.organisation_id, n.status, n.political_theory, 1 AS delta
               FROM updated n JOIN previous p ON p.id = n.id
              WHERE (n.organisation_id, n.status, n.political_theory)
                    IS DISTINCT FROM (p.organisation_id, p.status, p.political_theory)
             UNION ALL
             SELECT p.organisation_id, p.status, p.political_theory, -1
               FROM updated n JOIN previous p ON p.id = n.id
              WHERE (n.organisation_id, n.status, n.political_theory)
                    IS DISTINCT FROM (p.organisation_id, p.status, p.political_theory)) changed
      HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

DROP TRIGGER members_count ON members;
DROP FUNCTION members_count_change();
CREATE TRIGGER members_count_delete AFTER DELETE ON members REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION members_count_delete();
CREATE TRIGGER members_count_update AFTER UPDATE ON members REFERENCING OLD TABLE AS previous NEW TABLE AS updated
    FOR EACH STATEMENT EXECUTE FUNCTION members_count_update();

-- 3. Member evaluations per organisation and year by grade (the four member grades of every rating scheme), in
-- shards as above, so the member evaluations report of a province or the country adds up one row per
-- organisation instead of reading every evaluation.
CREATE TABLE member_evaluation_counts (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    year            integer NOT NULL,
    shard           smallint NOT NULL,
    excellent       integer NOT NULL DEFAULT 0,
    good            integer NOT NULL DEFAULT 0,
    completed       integer NOT NULL DEFAULT 0,
    not_completed   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (organisation_id, year, shard)
);

INSERT INTO member_evaluation_counts (organisation_id, year, shard, excellent, good, completed, not_completed)
SELECT organisation_id, year, 0,
       count(*) FILTER (WHERE grade = 'excellent'), count(*) FILTER (WHERE grade = 'good'),
       count(*) FILTER (WHERE grade = 'completed'), count(*) FILTER (WHERE grade = 'not_completed')
FROM member_evaluations GROUP BY organisation_id, year;

CREATE FUNCTION member_evaluation_counts_add(orgs uuid[], years integer[], grades text[], deltas integer[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO member_evaluation_counts AS c (organisation_id, year, shard, excellent, good, completed, not_completed)
    SELECT o, y, pg_backend_pid() % 16,
           coalesce(sum(d) FILTER (WHERE g = 'excellent'), 0), coalesce(sum(d) FILTER (WHERE g = 'good'), 0),
           coalesce(sum(d) FILTER (WHERE g = 'completed'), 0), coalesce(sum(d) FILTER (WHERE g = 'not_completed'), 0)
    FROM unnest(orgs, years, grades, deltas) AS x(o, y, g, d)
    GROUP BY o, y
    ORDER BY o, y
    ON CONFLICT (organisation_id, year, shard) DO UPDATE
        SET excellent = c.excellent + EXCLUDED.excellent,
            good = c.good + EXCLUDED.good,
            completed = c.completed + EXCLUDED.completed,
            not_completed = c.not_completed + EXCLUDED.not_completed
$$;

CREATE FUNCTION member_evaluations_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_evaluation_counts_add(array_agg(organisation_id), array_agg(year), array_agg(grade), array_agg(1))
       FROM inserted HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION member_evaluations_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_evaluation_counts_add(array_agg(organisation_id), array_agg(year), array_agg(grade), array_agg(-1))
       FROM removed HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION member_evaluations_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_evaluation_counts_add(array_agg(organisation_id), array_agg(year), array_agg(grade),
                                         array_agg(delta))
       FROM (SELECT n.organisation_id, n.year, n.grade, 1 AS delta
               FROM updated n JOIN previous p ON p.id = n.id
              WHERE (n.organisation_id, n.year, n.grade) IS DISTINCT FROM (p.organisation_id, p.year, p.grade)
             UNION ALL
             SELECT p.organisation_id, p.year, p.grade, -1
               FROM updated n JOIN previous p ON p.id = n.id
              WHERE (n.organisation_id, n.year, n.grade) IS DISTINCT FROM (p.organisation_id, p.year, p.grade)) changed
      HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER member_evaluations_count_insert AFTER INSERT ON member_evaluations REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION member_evaluations_count_insert();
CREATE TRIGGER member_evaluations_count_delete AFTER DELETE ON member_evaluations REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION member_evaluations_count_delete();
CREATE TRIGGER member_evaluations_count_update AFTER UPDATE ON member_evaluations
    REFERENCING OLD TABLE AS previous NEW TABLE AS updated
    FOR EACH STATEMENT EXECUTE FUNCTION member_evaluations_count_update();

-- 4. Meetings keep their attendance figures, recounted by a trigger in the statement that writes their
-- attendance, so the meetings report reads one row per meeting instead of every attendance entry; the members
-- absent without an excuse are found through a partial index over those entries alone.
ALTER TABLE meetings
    ADD COLUMN expected  integer NOT NULL DEFAULT 0,
    ADD COLUMN present   integer NOT NULL DEFAULT 0,
    ADD COLUMN unexcused integer NOT NULL DEFAULT 0;

UPDATE meetings m
   SET expected = a.expected, present = a.present, unexcused = a.unexcused
  FROM (SELECT meeting_id, count(*) AS expected,
               count(*) FILTER (WHERE status = 'present') AS present,
               count(*) FILTER (WHERE status = 'absent_unexcused') AS unexcused
          FROM meeting_attendance GROUP BY meeting_id) a
 WHERE a.meeting_id = m.id;

CREATE INDEX meeting_attendance_unexcused_idx ON meeting_attendance (meeting_id, member_id)
    WHERE status = 'absent_unexcused';

-- An organisation's meetings of a year with what the report reads, in one index range: the meetings of a cell
-- lie on a dozen pages of the table (they are written month by month), and a province reads 70,000 of them.
DROP INDEX meetings_organisation_idx;
CREATE INDEX meetings_organisation_idx ON meetings (organisation_id, held_on)
    INCLUDE (id, kind, expected, present, unexcused);

CREATE FUNCTION meeting_attendance_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT meeting_id) INTO touched FROM removed;
    ELSE
        SELECT array_agg(DISTINCT meeting_id) INTO touched FROM changed;
    END IF;
    UPDATE meetings m
       SET expected = a.expected, present = a.present, unexcused = a.unexcused
      FROM unnest(touched) AS t(id)
      CROSS JOIN LATERAL (
          SELECT count(*) AS expected,
                 count(*) FILTER (WHERE status = 'present') AS present,
                 count(*) FILTER (WHERE status = 'absent_unexcused') AS unexcused
            FROM meeting_attendance WHERE meeting_id = t.id) a
     WHERE m.id = t.id
       AND (m.expected, m.present, m.unexcused) IS DISTINCT FROM (a.expected, a.present, a.unexcused);
    RETURN NULL;
END;
$$;

CREATE TRIGGER meeting_attendance_count_insert AFTER INSERT ON meeting_attendance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_count();
CREATE TRIGGER meeting_attendance_count_update AFTER UPDATE ON meeting_attendance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_count();
CREATE TRIGGER meeting_attendance_count_delete AFTER DELETE ON meeting_attendance REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_count();
