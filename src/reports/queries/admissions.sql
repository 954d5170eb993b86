-- Admissions dated in [$1, $2], counted from the admission entries of the members' histories (so a later transfer
-- does not move an admission), each placed by the version of the organisation admitted into that covers the
-- admission day: it counts when that version's path lies under one of the root paths $3 (NULL: everywhere; an
-- empty array: nowhere). The root's paths are all those it had during the period, so a root that moved during it
-- keeps the admissions of either side; a path ends with the root's own label, so only organisations that were
-- under the root on the admission day have a version then under one of them. Grouped by $4: 'total', 'month',
-- 'quarter', 'year', or 'organisation': the base organisation above the organisation admitted into as the tree
-- stood on the admission day, named as it was on the latest admission day counted for it (admissions with no base
-- organisation above them are then left out). For a subtree PostgreSQL can read the admissions organisation by
-- organisation (the (organisation_id, "on") index of admissions), and does for a district or a province of the
-- national registry; everywhere's are read by day. The whole registry's admissions not grouped by organisation are
-- counted by admissions_everywhere.sql instead.
--
-- The admissions are counted by day (and path, when grouped by organisation) as they are found, so that what is
-- kept and sorted after the join is a row per day, not per admission: a token of the country's root organisation,
-- grouped by month, took 1.1 s before and 0.6-0.7 s after. The base organisation above a path is one of the
-- organisations its labels name (a label is an organisation's id), the one whose version on the day is a base
-- organisation and whose path begins that path; each label is looked up by id. Looked up instead by the
-- (path, valid_during) index, each admission of a province cost about 90 us and the province's report 0.8-1.0 s;
-- by label it takes 0.24-0.30 s.
WITH admitted AS MATERIALIZED (
    SELECT e."on", CASE WHEN $4 = 'organisation' THEN v.path END AS path, count(*) AS admitted
    FROM member_events e
    JOIN organisation_versions v ON v.organisation_id = e.organisation_id AND v.valid_during @> e."on"
    WHERE e.type = 'admitted'
      AND e."on" BETWEEN $1 AND $2
      AND ($3::ltree[] IS NULL OR v.path <@ ANY($3::ltree[]))
    GROUP BY 1, 2
),
placed AS (
    SELECT "on", NULL::uuid AS base_id, admitted FROM admitted WHERE $4 <> 'organisation'
    UNION ALL
    SELECT a."on", base.organisation_id, a.admitted
    FROM admitted a
    CROSS JOIN LATERAL unnest(string_to_array(a.path::text, '.')) AS above(label)
    JOIN organisation_versions base
      ON base.organisation_id = above.label::uuid AND base.valid_during @> a."on"
    WHERE $4 = 'organisation'
      AND base.kind IN ('base_committee', 'base_cell')
      AND subpath(a.path, 0, nlevel(base.path)) = base.path
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
    FROM placed
    GROUP BY 1, 2
)
SELECT g.key,
       (SELECT base.name FROM organisation_versions base
        WHERE base.organisation_id = g.base_id AND base.valid_during @> g.last_on) AS name,
       g.count
FROM groups g
ORDER BY g.key
