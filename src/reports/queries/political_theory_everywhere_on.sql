-- Members of the whole registry current on day $1, by political theory level: admitted by then, and with no entry
-- by then that ended their membership (transferred out, expelled, removed, deceased: an ended membership does not
-- resume, so the last entry by then has a current status exactly when no such entry exists). Where they were does
-- not matter here.
--
-- Two ways, of which the statement runs one (each branch is gated by `recent`, which PostgreSQL evaluates first):
-- - a recent day: today's kept counts, corrected member by member for the members admitted after the day or whose
--   membership ended after it (found on the ("on") index alone); every other member's standing has not changed
--   since.
-- - an older day, with more entries after it than a 20th of the registry's members (PostgreSQL's estimate of
--   them, or their count before it has one): every member, as it stood on the day. The entries that end a
--   membership have an index of their own (migration member_events_endings).
-- On the national registry an entry read by the first way cost 3.2-3.8 µs, a member read by the second 0.21 µs
-- (bench/README, "eleventh session"): at the bound the two take about as long. The probe stops counting there.
-- The changed members are gathered by one sorted aggregate and each is read on its key. PostgreSQL estimates the
-- entries after a day beyond its statistics far too high (32,140 for 350), and hashed every member to join them;
-- and a DISTINCT it ran in parallel fed hashes in hash order to a second hash table, which ran past a minute for
-- 295,000 entries where 183,000 took 0.9 s.
WITH registry AS MATERIALIZED (
    SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM members) END AS members
    FROM pg_class c
    WHERE c.oid = 'members'::regclass
),
recent AS MATERIALIZED (
    SELECT count(*) * 20 <= (SELECT members FROM registry) AS recent
    FROM (SELECT 1 FROM member_events
          WHERE "on" > $1
            AND (status_before IS NULL OR status_after NOT IN ('probationary', 'official', 'exempt'))
          LIMIT (SELECT members / 20 + 1 FROM registry)) later
),
kept AS (
    SELECT coalesce(sum(theory_none), 0) AS none, coalesce(sum(theory_elementary), 0) AS elementary,
           coalesce(sum(theory_intermediate), 0) AS intermediate, coalesce(sum(theory_advanced), 0) AS advanced
    FROM organisation_member_counts
    WHERE status IN ('probationary', 'official', 'exempt') AND (SELECT recent FROM recent)
),
counts AS (
    SELECT level.key, level.count
    FROM kept
    CROSS JOIN LATERAL (VALUES ('none', kept.none), ('elementary', kept.elementary),
                               ('intermediate', kept.intermediate), ('advanced', kept.advanced)) AS level (key, count)
    UNION ALL
    SELECT m.political_theory, m.delta
    FROM unnest((SELECT array_agg(DISTINCT member_id) FROM member_events
                 WHERE "on" > $1
                   AND (status_before IS NULL OR status_after NOT IN ('probationary', 'official', 'exempt'))
                   AND (SELECT recent FROM recent))) AS c (member_id)
    CROSS JOIN LATERAL (
        SELECT m.political_theory,
               (m.admitted_on <= $1
                AND NOT EXISTS (
                    SELECT 1 FROM member_events e
                    WHERE e.member_id = m.id AND e."on" <= $1
                      AND e.status_after NOT IN ('probationary', 'official', 'exempt')
                ))::integer
               - (m.status IN ('probationary', 'official', 'exempt'))::integer AS delta
        FROM members m
        WHERE m.id = c.member_id
        OFFSET 0
    ) m
    UNION ALL
    SELECT m.political_theory, count(*)
    FROM members m
    WHERE NOT (SELECT recent FROM recent)
      AND m.admitted_on <= $1
      AND NOT EXISTS (
          SELECT 1 FROM member_events e
          WHERE e.member_id = m.id AND e."on" <= $1
            AND e.status_after NOT IN ('probationary', 'official', 'exempt')
      )
    GROUP BY m.political_theory
)
SELECT key, sum(count)::bigint AS count
FROM counts
GROUP BY key
HAVING sum(count) > 0
