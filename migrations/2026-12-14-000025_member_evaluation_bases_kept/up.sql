-- The member evaluations report of the country added up the year's evaluation counts (290,800 rows on the national
-- registry) through the tree as it stood at the end of the year to find the base organisations over the excellent
-- quota: 1.1 s, past the 500 ms a country's report may take. What it needs is now kept per base organisation and
-- year, as the tree stood on the year's last day: its members graded excellent and good, counted over its subtree,
-- with its code and its name of that day, so that the report reads this table alone.
--
-- The figures depend on the evaluations and on the tree. An evaluation's write adds to them in the same
-- transaction (through `member_evaluation_counts_add`, which every evaluation write calls). A change of the tree
-- that gives an organisation another place or kind on a year's last day, or a base organisation another name or
-- code, takes the year out of `member_evaluation_base_years`, and the report counts the year again from the
-- evaluation counts before it reads (`member_evaluation_bases_recount`). Most changes of the tree take effect
-- today, so they reach only the current year and the years to come; a reorganisation dated back reaches the years
-- since its effective day.
--
-- A recount must see every evaluation written before it and no write may fall between its reading and its
-- marking the year kept. Writers of evaluations and of the tree hold a shared advisory lock until they commit. A
-- recount takes it exclusively, only when no writer holds it (otherwise the report counts as before, from the
-- evaluation counts through the tree), so a recount waits for nobody; the writers that come while it runs wait
-- for it (about two seconds per year at national scale, only after a change of the tree), and their statements
-- after the lock see what it wrote. That needs writers in READ COMMITTED, as the service's are: the triggers
-- refuse any other isolation level. No year is kept at first: each is counted on its first report.

CREATE TABLE member_evaluation_bases (
    organisation_id uuid NOT NULL,
    year            integer NOT NULL,
    shard           smallint NOT NULL,
    code            text NOT NULL,
    name            text NOT NULL,
    excellent       integer NOT NULL,
    good            integer NOT NULL,
    PRIMARY KEY (year, organisation_id, shard)
);

-- (`organisation_id` has no foreign key: its checks and cascades would lock rows of `organisations` and of this
-- table before the writer takes the shared lock below, and a recount holding the lock would then wait on them
-- while the writer waits on the recount. Deleting an organisation deletes its versions, which takes every year it
-- held out of the kept ones; a recount deletes a year's rows before it writes them.)

-- The years whose rows in `member_evaluation_bases` are up to date.
CREATE TABLE member_evaluation_base_years (
    year integer PRIMARY KEY
);

-- Refuses a writer outside READ COMMITTED: its snapshot could predate a recount it waited for, and what it wrote
-- would then be missing from the kept figures. Then takes the writers' shared lock.
CREATE FUNCTION member_evaluation_bases_writer() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'writes of evaluations and of the tree need the READ COMMITTED isolation level'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- An arbitrary constant that names this lock among the transaction-level advisory locks.
    PERFORM pg_advisory_xact_lock_shared(7065766173);
END
$$;

-- The base organisations an organisation's evaluations of a year count for: those of a base kind on its path
-- (itself included) as the tree stood on the year's last day.
CREATE FUNCTION member_evaluation_bases_add(orgs uuid[], years integer[], grades text[], deltas integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_evaluation_bases_writer();
    INSERT INTO member_evaluation_bases AS k (organisation_id, year, shard, code, name, excellent, good)
    SELECT b.organisation_id, x.y, pg_backend_pid() % 16, o.code, b.name, sum(x.excellent), sum(x.good)
    FROM (SELECT o, y, coalesce(sum(d) FILTER (WHERE g = 'excellent'), 0) AS excellent,
                 coalesce(sum(d) FILTER (WHERE g = 'good'), 0) AS good
          FROM unnest(orgs, years, grades, deltas) AS u(o, y, g, d)
          GROUP BY o, y) x
    JOIN member_evaluation_base_years kept ON kept.year = x.y
    JOIN organisation_versions v ON v.organisation_id = x.o AND v.valid_during @> make_date(x.y, 12, 31)
    CROSS JOIN LATERAL generate_series(0, nlevel(v.path) - 1) AS level
    JOIN organisation_versions b ON b.organisation_id = ltree2text(subpath(v.path, level, 1))::uuid
                                AND b.valid_during @> make_date(x.y, 12, 31)
    JOIN organisations o ON o.id = b.organisation_id
    WHERE b.kind IN ('base_committee', 'base_cell') AND (x.excellent <> 0 OR x.good <> 0)
    GROUP BY 1, 2, 4, 5
    ORDER BY 1, 2
    ON CONFLICT (year, organisation_id, shard) DO UPDATE
        SET excellent = k.excellent + EXCLUDED.excellent,
            good = k.good + EXCLUDED.good;
END
$$;

-- Counts year `y` again from the evaluation counts, unless it is kept; true when the year is kept on return. It
-- never waits: while a writer holds the shared lock it returns false and the report counts without the kept
-- figures. Holding the lock, it has every writer before it committed, and each statement below takes its own
-- snapshot after the lock, so it sees them all; writers that come meanwhile wait for it, then add to its figures.
CREATE FUNCTION member_evaluation_bases_recount(y integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM member_evaluation_base_years WHERE year = y) THEN
        RETURN true;
    END IF;
    IF NOT pg_try_advisory_xact_lock(7065766173) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM member_evaluation_base_years WHERE year = y) THEN
        RETURN true;
    END IF;
    DELETE FROM member_evaluation_bases WHERE year = y;
    -- Added up first by the path of the organisation above each counted one (the counted one itself when it is a
    -- base organisation), about one row per base organisation, then climbed from there to the base organisations
    -- among that path's labels.
    WITH counted AS MATERIALIZED (
        SELECT CASE WHEN v.kind IN ('base_committee', 'base_cell') THEN v.path
                    ELSE subpath(v.path, 0, nlevel(v.path) - 1) END AS above,
               sum(c.excellent) AS excellent, sum(c.good) AS good
        FROM member_evaluation_counts c
        JOIN organisation_versions v ON v.organisation_id = c.organisation_id
                                    AND v.valid_during @> make_date(y, 12, 31)
        WHERE c.year = y
        GROUP BY 1
    )
    INSERT INTO member_evaluation_bases (organisation_id, year, shard, code, name, excellent, good)
    SELECT b.organisation_id, y, 0, o.code, b.name, sum(counted.excellent), sum(counted.good)
    FROM counted
    CROSS JOIN LATERAL generate_series(0, nlevel(counted.above) - 1) AS level
    JOIN organisation_versions b ON b.organisation_id = ltree2text(subpath(counted.above, level, 1))::uuid
                                AND b.valid_during @> make_date(y, 12, 31)
    JOIN organisations o ON o.id = b.organisation_id
    WHERE b.kind IN ('base_committee', 'base_cell')
    GROUP BY b.organisation_id, o.code, b.name
    HAVING sum(counted.excellent) <> 0 OR sum(counted.good) <> 0
    ORDER BY b.organisation_id;
    INSERT INTO member_evaluation_base_years (year) VALUES (y);
    RETURN true;
END
$$;

-- Every write of an evaluation calls this with its changes: it adds them to the kept base figures as well.
CREATE OR REPLACE FUNCTION member_evaluation_counts_add(orgs uuid[], years integer[], grades text[], deltas integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
                not_completed = c.not_completed + EXCLUDED.not_completed;
        PERFORM member_evaluation_bases_add(orgs, years, grades, deltas);
END
$$;

-- What the kept figures take from a version: its place and kind, and a base organisation's name.
CREATE FUNCTION pb_bases_shape(v organisation_versions) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[v.path::text, v.kind,
                 CASE WHEN v.kind IN ('base_committee', 'base_cell') THEN v.name END]
$$;

-- A change of the tree: the years whose last day an organisation now holds with another place or kind, or a base
-- organisation with another name, are no longer kept. `organisation_versions_keep` (migration 000007) writes the
-- versions: a new organisation's one version, which has nothing counted under it yet; a change on the day the
-- current version starts, in place; any other change ends the current version where the new one starts, one
-- statement each. The new version is compared with the one it follows, so a new name of a cell or a committee
-- above base level changes no figure; the days a shortened version gave up are judged when their new version
-- arrives. A deleted version's years are no longer kept.
CREATE FUNCTION organisation_versions_bases_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_evaluation_bases_writer();
    IF TG_OP = 'INSERT' THEN
        DELETE FROM member_evaluation_base_years k
         WHERE EXISTS (SELECT 1 FROM added a
                        WHERE a.valid_during @> make_date(k.year, 12, 31)
                          AND EXISTS (SELECT 1 FROM organisation_versions o
                                       WHERE o.organisation_id = a.organisation_id
                                         AND o.valid_during <> a.valid_during)
                          AND NOT EXISTS (SELECT 1 FROM organisation_versions p
                                           WHERE p.organisation_id = a.organisation_id
                                             AND upper(p.valid_during) = lower(a.valid_during)
                                             AND pb_bases_shape(p) = pb_bases_shape(a::organisation_versions)));
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM member_evaluation_base_years k
         WHERE EXISTS (SELECT 1 FROM removed r WHERE r.valid_during @> make_date(k.year, 12, 31));
    ELSE
        DELETE FROM member_evaluation_base_years k
         WHERE EXISTS (SELECT 1 FROM removed r
                         JOIN added a ON a.organisation_id = r.organisation_id
                        WHERE r.valid_during @> make_date(k.year, 12, 31)
                          AND a.valid_during @> make_date(k.year, 12, 31)
                          AND pb_bases_shape(r::organisation_versions)
                              IS DISTINCT FROM pb_bases_shape(a::organisation_versions));
    END IF;
    RETURN NULL;
END
$$;

-- A new code: the kept rows name organisations by their code of today, so no year is kept any longer.
CREATE FUNCTION organisations_bases_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_evaluation_bases_writer();
    DELETE FROM member_evaluation_base_years;
    RETURN NULL;
END
$$;

CREATE TRIGGER organisations_bases_code AFTER UPDATE OF code ON organisations
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION organisations_bases_code();

CREATE TRIGGER organisation_versions_bases_insert AFTER INSERT ON organisation_versions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION organisation_versions_bases_stale();
CREATE TRIGGER organisation_versions_bases_delete AFTER DELETE ON organisation_versions
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION organisation_versions_bases_stale();
CREATE TRIGGER organisation_versions_bases_update AFTER UPDATE ON organisation_versions
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION organisation_versions_bases_stale();
