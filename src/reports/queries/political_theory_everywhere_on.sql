-- Members of the whole registry current on day $1, by political theory level: admitted by then, and with no entry
-- by then that ended their membership (transferred out, expelled, removed, deceased). Where they were does not
-- matter here. An ended membership does not resume, so a member whose membership ended has exactly one such entry
-- and is not current today; every other member is current today and was on every day since its admission.
--
-- Two ways, of which the statement runs one (each branch is gated by `early`, which PostgreSQL evaluates first):
-- - a later day: today's kept counts, less the current members admitted after the day, plus the members admitted
--   by the day whose membership ended after it;
-- - an early day: the members admitted by the day, less those whose membership ended by then.
-- Every correction is read from indexes alone (migration 000029): the admission day's index holds level and status,
-- and the members whose membership ended have an index of their own, joined to the entries that ended it. So the
-- work follows the members admitted on one side of the day; the later way also sums the kept counts. The early way
-- is taken for a day in the first five eighths of the span of admission days: on the national registry (admissions
-- spread evenly over 1965-2024) the two took about as long there (bench/README, "twelfth session").
WITH span AS MATERIALIZED (
    SELECT coalesce($1 < min(admitted_on) + (max(admitted_on) - min(admitted_on)) * 5 / 8, false) AS early
    FROM members
),
counts AS (
    SELECT level.key, level.count
    FROM (SELECT coalesce(sum(theory_none), 0) AS none, coalesce(sum(theory_elementary), 0) AS elementary,
                 coalesce(sum(theory_intermediate), 0) AS intermediate, coalesce(sum(theory_advanced), 0) AS advanced
          FROM organisation_member_counts
          WHERE status IN ('probationary', 'official', 'exempt') AND NOT (SELECT early FROM span)) kept
    CROSS JOIN LATERAL (VALUES ('none', kept.none), ('elementary', kept.elementary),
                               ('intermediate', kept.intermediate), ('advanced', kept.advanced)) AS level (key, count)
    UNION ALL
    SELECT political_theory, -count(*)
    FROM members
    WHERE admitted_on > $1 AND status IN ('probationary', 'official', 'exempt') AND NOT (SELECT early FROM span)
    GROUP BY political_theory
    UNION ALL
    SELECT m.political_theory, count(*)
    FROM members m
    JOIN member_events e ON e.member_id = m.id
    WHERE m.status NOT IN ('probationary', 'official', 'exempt') AND m.admitted_on <= $1
      AND e.status_after NOT IN ('probationary', 'official', 'exempt') AND e."on" > $1
      AND NOT (SELECT early FROM span)
    GROUP BY m.political_theory
    UNION ALL
    SELECT political_theory, count(*)
    FROM members
    WHERE admitted_on <= $1 AND (SELECT early FROM span)
    GROUP BY political_theory
    UNION ALL
    SELECT m.political_theory, -count(*)
    FROM members m
    JOIN member_events e ON e.member_id = m.id
    WHERE m.status NOT IN ('probationary', 'official', 'exempt') AND m.admitted_on <= $1
      AND e.status_after NOT IN ('probationary', 'official', 'exempt') AND e."on" <= $1
      AND (SELECT early FROM span)
    GROUP BY m.political_theory
)
SELECT key, sum(count)::bigint AS count
FROM counts
GROUP BY key
HAVING sum(count) > 0
