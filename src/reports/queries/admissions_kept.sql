-- The whole registry's admissions dated in [$1, $2] by base organisation, from the figures kept per day and base
-- organisation (`admission_bases`), when the days through $2 are kept; otherwise one row with no key, and the
-- caller counts them with admissions.sql. One statement, so that the mark and the figures are read in one
-- snapshot: a change of the tree that commits after the caller's recount cannot leave it reading rows that no
-- longer hold. Each base organisation is named as it was on the latest admission day counted for it: the last day
-- whose row is above zero (a removal can leave a row at zero).
WITH mark AS (
    SELECT until > $2 AS kept FROM admission_bases_kept
),
groups AS (
    SELECT organisation_id, max("on") FILTER (WHERE admitted > 0) AS last_on, sum(admitted)::bigint AS count
    FROM admission_bases
    WHERE (SELECT kept FROM mark) AND "on" BETWEEN $1 AND $2
    GROUP BY 1
    HAVING sum(admitted) > 0
)
SELECT g.organisation_id::text AS key, v.name, g.count
FROM groups g
JOIN organisation_versions v ON v.organisation_id = g.organisation_id AND v.valid_during @> g.last_on
UNION ALL
SELECT NULL, NULL, 0
WHERE NOT (SELECT kept FROM mark)
ORDER BY 1
