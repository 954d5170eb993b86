-- The whole registry's admissions by base organisation took 3.1-3.5 s at national scale (a year: 561,000
-- admissions), past the 500 ms a country's report may take: every admission had to be placed in the tree as it
-- stood on its day, and the base organisation above it found. What the report needs is now kept: the admissions of
-- each day counted per base organisation, placed as the tree stood that day, so that the report reads a range of
-- days of this table and adds it up by organisation.
--
-- The figures depend on the admission entries and on the tree. Writing or removing an admission entry leaves a
-- note in the same transaction (the statement triggers on `member_events` below), nothing more, so that admissions
-- into one organisation never wait for each other; the notes are counted in (`admission_bases_catch_up`) by the
-- service's background work every second and by the report before it reads. A change of the tree dated on a day
-- can place the admissions from that day on differently, so it marks the figures from that day on as not kept
-- (`admission_bases_kept.until`); the catching up counts those days again from the admission entries, a quarter
-- per call, through today for the background work and through its last day for the report. Most changes of the
-- tree take effect today, so a recount then covers today's admissions alone; a reorganisation dated back covers
-- the days since its effective day (a quarter of 2024, 140,000 admissions, takes 1.3-1.9 s at national scale).
--
-- The catching up takes an advisory lock exclusively, which writers of the tree share until they commit: it sees
-- every change of the tree before it, and no change can slip between its counting and its marking the days kept.
-- Writers of the tree must run in READ COMMITTED (as the service's do), so that their statements after the lock
-- see what a catching up they waited for wrote. Admission notes need no lock: a note and its admission entry
-- commit together, so a statement that reads both sees either both or neither.

CREATE TABLE admission_bases (
    "on"            date NOT NULL,
    organisation_id uuid NOT NULL,
    admitted        integer NOT NULL,
    PRIMARY KEY ("on", organisation_id)
);

-- The days before `until` are kept in `admission_bases` (with the notes counted in); the rows of later days may be
-- out of date, and notes dated on them are dropped when counted in. One row.
CREATE TABLE admission_bases_kept (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    until    date NOT NULL
);

-- Admission entries written (+1) or removed (-1) and not yet counted in.
CREATE TABLE admission_notes (
    id              bigserial PRIMARY KEY,
    "on"            date NOT NULL,
    organisation_id uuid NOT NULL,
    delta           smallint NOT NULL
);

-- Refuses a writer of the tree outside READ COMMITTED, then takes the writers' shared lock.
CREATE FUNCTION admission_bases_writer() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'writes of the tree need the READ COMMITTED isolation level'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- An arbitrary constant that names this lock among the transaction-level advisory locks.
    PERFORM pg_advisory_xact_lock_shared(7065766175);
END
$$;

-- Adds admissions to the kept figures: `sources` defines `src` ("on", organisation_id, delta) in a WITH list (with
-- any statement that must share its snapshot). Those dated before `until` are each placed by the version of the
-- organisation admitted into that covers its day: an admission into a base organisation counts for it, any other
-- for the base organisation among the labels of the path above it (a label is an organisation's id) whose version
-- that day is of a base kind; admissions with no base organisation above them are not kept. As in
-- `admissions.sql`, the admissions are added up by day and by the path above as they are found, and each path's
-- labels looked up once. Run as a statement of its own, planned for what `src` holds (a few notes or a quarter's
-- admissions).
CREATE FUNCTION admission_bases_place(sources text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($sql$
        WITH %s,
        admitted AS MATERIALIZED (
            SELECT src."on",
                   CASE WHEN v.kind IN ('base_committee', 'base_cell') THEN v.organisation_id END AS base_here,
                   CASE WHEN v.kind NOT IN ('base_committee', 'base_cell')
                        THEN subpath(v.path, 0, nlevel(v.path) - 1) END AS above,
                   sum(src.delta) AS admitted
            FROM src
            JOIN admission_bases_kept kept ON src."on" < kept.until
            JOIN organisation_versions v ON v.organisation_id = src.organisation_id AND v.valid_during @> src."on"
            GROUP BY 1, 2, 3
        )
        INSERT INTO admission_bases AS k ("on", organisation_id, admitted)
        SELECT "on", base_id, sum(admitted)
        FROM (
            SELECT "on", base_here AS base_id, admitted FROM admitted WHERE base_here IS NOT NULL
            UNION ALL
            SELECT day."on", base.organisation_id, day.admitted
            FROM (SELECT above, array_agg("on") AS days, array_agg(admitted) AS counts,
                         daterange(min("on"), max("on"), '[]') AS during
                  FROM admitted WHERE above IS NOT NULL GROUP BY above) p
            CROSS JOIN LATERAL unnest(string_to_array(p.above::text, '.')) AS label(id)
            JOIN organisation_versions base
              ON base.organisation_id = label.id::uuid AND base.valid_during && p.during
            CROSS JOIN LATERAL unnest(p.days, p.counts) AS day("on", admitted)
            WHERE base.kind IN ('base_committee', 'base_cell')
              AND base.path @> p.above
              AND base.valid_during @> day."on"
        ) placed
        GROUP BY 1, 2
        HAVING sum(admitted) <> 0
        ORDER BY 1, 2
        ON CONFLICT ("on", organisation_id) DO UPDATE SET admitted = k.admitted + EXCLUDED.admitted
    $sql$, sources);
END
$$;

-- Counts the notes in, then, when days through `upto` are not kept, counts again the admissions of the first
-- quarter of them that has any. True when everything through `upto` is kept on return, false when days before it
-- are left for another call, NULL when the lock stayed taken for `patience` milliseconds (0: not waited for).
-- Holding the lock, it has every change of the tree before it committed, and each statement below takes its own
-- snapshot after the lock. The notes of the days counted again are dropped by the statement that reads their
-- admissions, in one snapshot: a note read there has its admission read too.
CREATE FUNCTION admission_bases_catch_up(upto date, patience integer) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    kept_until date;
    first_day date;
    stop date;
    lock_timeout_before text := current_setting('lock_timeout');
BEGIN
    IF patience > 0 THEN
        BEGIN
            PERFORM set_config('lock_timeout', patience::text, true);
            PERFORM pg_advisory_xact_lock(7065766175);
            PERFORM set_config('lock_timeout', lock_timeout_before, true);
        EXCEPTION WHEN lock_not_available THEN
            RETURN NULL;
        END;
    ELSIF NOT pg_try_advisory_xact_lock(7065766175) THEN
        RETURN NULL;
    END IF;
    PERFORM admission_bases_place('src AS (DELETE FROM admission_notes RETURNING "on", organisation_id, delta)');
    SELECT until INTO kept_until FROM admission_bases_kept;
    IF kept_until > upto THEN
        RETURN true;
    END IF;
    SELECT min("on") INTO first_day FROM member_events WHERE type = 'admitted' AND "on" >= kept_until;
    stop := CASE WHEN first_day IS NULL OR first_day > upto THEN upto ELSE least(upto, first_day + 91) END;
    UPDATE admission_bases_kept SET until = stop + 1;
    DELETE FROM admission_bases WHERE "on" BETWEEN kept_until AND stop;
    PERFORM admission_bases_place(format(
        'dropped AS (DELETE FROM admission_notes WHERE "on" BETWEEN %1$L AND %2$L), '
        'src AS (SELECT "on", organisation_id, count(*)::integer AS delta FROM member_events '
        '        WHERE type = ''admitted'' AND "on" BETWEEN %1$L AND %2$L GROUP BY 1, 2)',
        kept_until, stop));
    RETURN stop >= upto;
END
$$;

-- Written or removed admission entries: a note each.
CREATE FUNCTION member_events_admission_notes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO admission_notes ("on", organisation_id, delta)
        SELECT "on", organisation_id, 1 FROM added WHERE type = 'admitted';
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO admission_notes ("on", organisation_id, delta)
        SELECT "on", organisation_id, -1 FROM removed WHERE type = 'admitted';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER member_events_admission_notes_insert AFTER INSERT ON member_events
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION member_events_admission_notes();
CREATE TRIGGER member_events_admission_notes_delete AFTER DELETE ON member_events
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION member_events_admission_notes();
CREATE TRIGGER member_events_admission_notes_update AFTER UPDATE ON member_events
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION member_events_admission_notes();

-- A change of the tree: the first day whose admissions it may place differently. `organisation_versions_keep`
-- (migration 000007) writes the versions: a new organisation's one version, under which nothing is admitted yet; a
-- change on the day the current version starts, in place; any other change ends the current version where the new
-- one starts. A version written or removed reaches the days from its first; a version changed in place, from its
-- first day when its place or kind changed, otherwise from the first day it gained or gave up. A change of kind
-- reaches the admissions into the organisation's subtree as well, which the days from then on cover. Names play
-- no part: the report names base organisations from their versions when it reads.
CREATE FUNCTION organisation_versions_admission_bases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    since date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT min(coalesce(lower(a.valid_during), '-infinity')) INTO since
        FROM added a
        WHERE EXISTS (SELECT 1 FROM organisation_versions o
                      WHERE o.organisation_id = a.organisation_id AND o.valid_during <> a.valid_during);
    ELSIF TG_OP = 'DELETE' THEN
        SELECT min(coalesce(lower(r.valid_during), '-infinity')) INTO since
        FROM removed r
        WHERE EXISTS (SELECT 1 FROM organisation_versions o WHERE o.organisation_id = r.organisation_id);
    ELSE
        SELECT min(CASE WHEN r.path = a.path AND r.kind = a.kind
                        THEN CASE WHEN r.valid_during = a.valid_during THEN NULL
                                  WHEN lower(r.valid_during) IS NOT DISTINCT FROM lower(a.valid_during)
                                  THEN least(coalesce(upper(r.valid_during), 'infinity'),
                                             coalesce(upper(a.valid_during), 'infinity'))
                                  ELSE least(coalesce(lower(r.valid_during), '-infinity'),
                                             coalesce(lower(a.valid_during), '-infinity')) END
                        ELSE least(coalesce(lower(r.valid_during), '-infinity'),
                                   coalesce(lower(a.valid_during), '-infinity')) END) INTO since
        FROM removed r
        JOIN added a ON a.organisation_id = r.organisation_id;
    END IF;
    IF since IS NOT NULL THEN
        PERFORM admission_bases_writer();
        UPDATE admission_bases_kept SET until = since WHERE until > since;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER organisation_versions_admission_bases_insert AFTER INSERT ON organisation_versions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION organisation_versions_admission_bases();
CREATE TRIGGER organisation_versions_admission_bases_delete AFTER DELETE ON organisation_versions
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION organisation_versions_admission_bases();
CREATE TRIGGER organisation_versions_admission_bases_update AFTER UPDATE ON organisation_versions
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION organisation_versions_admission_bases();

-- Counts every admission of the registry again, all days kept (here, and after a generator that wrote the
-- registry with the triggers off).
CREATE FUNCTION admission_bases_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7065766175);
    TRUNCATE admission_bases, admission_notes;
    DELETE FROM admission_bases_kept;
    INSERT INTO admission_bases_kept (until) VALUES ('infinity');
    PERFORM admission_bases_place('src AS (SELECT "on", organisation_id, count(*)::integer AS delta '
                                  'FROM member_events WHERE type = ''admitted'' GROUP BY 1, 2)');
END
$$;

SELECT admission_bases_rebuild();
