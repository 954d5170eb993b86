-- Admissions dated in [$1, $2], counted from the admission entries of the members' histories (so a later transfer
-- does not move an admission), each placed by the version of the organisation admitted into that covers the
-- admission day: it counts when that version's path lies under one of the root paths $3 (NULL: everywhere; an
-- empty array: nowhere). The root's paths are all those it had during the period, so a root that moved during it
-- keeps the admissions of either side; a path ends with the root's own label, so only organisations that were
-- under the root on the admission day have a version then under one of them. Grouped by $4: 'total', 'month',
-- 'quarter', 'year', or 'organisation': the base organisation above the organisation admitted into as the tree
-- stood on the admission day, named as it was on the latest admission day counted for it (admissions with no base
-- organisation above them are then left out). The base organisation is looked up per admission by a subquery, so
-- that it walks up the (path, valid_during) index from each admission rather than joining every version. For a
-- subtree PostgreSQL can read the admissions organisation by organisation (the (organisation_id, "on") index of
-- admissions), and does for a district or a province of the national registry; everywhere's are read by day. The
-- admissions are counted by day (and base organisation) as they are found, so that what is kept and sorted after the
-- join is a row per day, not per admission: a token of the country's root organisation, grouped by month, took
-- 1.1 s before and 0.6-0.7 s after. The whole registry's admissions not grouped by organisation are counted by
-- admissions_everywhere.sql instead.
WITH admitted AS MATERIALIZED (
    SELECT e."on",
           CASE WHEN $4 = 'organisation' THEN (
               SELECT base.organisation_id
               FROM organisation_versions base
               WHERE base.path @> v.path AND base.valid_during @> e."on"
                 AND base.kind IN ('base_committee', 'base_cell')
           ) END AS base_id,
           count(*) AS admitted
    FROM member_events e
    JOIN organisation_versions v ON v.organisation_id = e.organisation_id AND v.valid_during @> e."on"
    WHERE e.type = 'admitted'
      AND e."on" BETWEEN $1 AND $2
      AND ($3::ltree[] IS NULL OR v.path <@ ANY($3::ltree[]))
    GROUP BY 1, 2
),
groups AS (
    SELECT CASE $4
               WHEN 'month' THEN to_char("on", 'YYYY-MM')
               WHEN 'quarter' THEN to_char("on", 'YYYY-"Q"Q')
               WHEN 'year' THEN to_char("on", 'YYYY')
               WHEN 'organisation' THEN base_id::text
               ELSE 'total'
           END AS key,
           base_id, max("on") AS last_on, sum(admitted)::bigint AS count
    FROM admitted
    WHERE $4 <> 'organisation' OR base_id IS NOT NULL
    GROUP BY 1, 2
)
SELECT g.key,
       (SELECT base.name FROM organisation_versions base
        WHERE base.organisation_id = g.base_id AND base.valid_during @> g.last_on) AS name,
       g.count
FROM groups g
ORDER BY g.key
