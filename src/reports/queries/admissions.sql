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
-- The admissions are counted by day (and, when grouped by organisation, by where they fell) as they are found, so
-- that what is kept and sorted after the join is a row per day, not per admission. Grouped by organisation, an
-- admission into a base organisation counts for it; one into a cell is counted by the path above the cell, and the
-- base organisation above that path is one of the organisations its labels name (a label is an organisation's id):
-- the one whose version on the day is a base organisation and whose path begins that path. Each path above is
-- looked up once, with the days counted under it, and its labels by id: the cells of one base organisation share
-- their path above, and a path's labels are mostly the same committees, so few lookups miss PostgreSQL's memo.
-- A province of the national registry took 0.8-1.0 s when each admission looked up its base organisation through
-- the (path, valid_during) index. When each day and path looked up all its labels, it took 104-110 ms, and the whole
-- registry 9.6-10.6 s (past the statement timeout). On the same quiet machine it now takes 48-52 ms, and the
-- whole registry 2.2-2.4 s.
WITH admitted AS MATERIALIZED (
    SELECT e."on",
           CASE WHEN $4 = 'organisation' AND v.kind IN ('base_committee', 'base_cell') THEN v.organisation_id END
               AS base_here,
           CASE WHEN $4 = 'organisation' AND v.kind NOT IN ('base_committee', 'base_cell')
                THEN subpath(v.path, 0, nlevel(v.path) - 1) END AS above,
           count(*) AS admitted
    FROM member_events e
    JOIN organisation_versions v ON v.organisation_id = e.organisation_id AND v.valid_during @> e."on"
    WHERE e.type = 'admitted'
      AND e."on" BETWEEN $1 AND $2
      AND ($3::ltree[] IS NULL OR v.path <@ ANY($3::ltree[]))
    GROUP BY 1, 2, 3
),
placed AS (
    SELECT "on", base_here AS base_id, admitted FROM admitted WHERE $4 <> 'organisation' OR base_here IS NOT NULL
    UNION ALL
    SELECT day."on", base.organisation_id, day.admitted
    FROM (SELECT above, array_agg("on") AS days, array_agg(admitted) AS counts
          FROM admitted WHERE above IS NOT NULL GROUP BY above) p
    CROSS JOIN LATERAL unnest(string_to_array(p.above::text, '.')) AS label(id)
    JOIN organisation_versions base
      ON base.organisation_id = label.id::uuid AND base.valid_during && daterange($1, $2, '[]')
    CROSS JOIN LATERAL unnest(p.days, p.counts) AS day("on", admitted)
    WHERE base.kind IN ('base_committee', 'base_cell')
      AND base.path @> p.above
      AND base.valid_during @> day."on"
),
groups AS (
    SELECT CASE $4
               WHEN 'month' THEN to_char("on", 'YYYY-MM')
               WHEN 'quarter' THEN to_char("on", 'YYYY-"Q"Q')
               WHEN 'year' THEN to_char("on", 'YYYY')
               WHEN 'total' THEN 'total'
           END AS period,
           base_id, max("on") AS last_on, sum(admitted)::bigint AS count
    FROM placed
    GROUP BY 1, 2
)
SELECT coalesce(g.period, g.base_id::text) AS key,
       (SELECT base.name FROM organisation_versions base
        WHERE base.organisation_id = g.base_id AND base.valid_during @> g.last_on) AS name,
       g.count
FROM groups g
ORDER BY 1
