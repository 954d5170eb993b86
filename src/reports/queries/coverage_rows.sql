-- The coverage of resolution $1, one row per base organisation under its issuer on the last day it applied (today
-- $2, or its valid_until when earlier, or the day before its issuer ended), as it stood that day, inside the
-- caller's subtree of today $3 (NULL: everywhere), in code order; `status` is NULL where nothing was recorded.
WITH day AS (
    SELECT least($2::date, coalesce(r.valid_until, $2::date), coalesce(issuer.dissolved_on - 1, $2::date)) AS d,
           r.issuing_organisation_id AS issuer_id
    FROM resolutions r JOIN organisations issuer ON issuer.id = r.issuing_organisation_id
    WHERE r.id = $1
),
root AS (
    SELECT iv.path, day.d
    FROM day JOIN organisation_versions iv ON iv.organisation_id = day.issuer_id AND iv.valid_during @> day.d
)
SELECT o.id AS organisation_id, o.code, v.name, v.kind, i.status, i.plan_adopted_on, i.reported_on
FROM root
JOIN organisation_versions v ON v.path <@ root.path AND v.path <> root.path AND v.valid_during @> root.d
JOIN organisations o ON o.id = v.organisation_id
LEFT JOIN resolution_implementations i ON i.organisation_id = o.id AND i.resolution_id = $1
WHERE v.kind IN ('base_committee', 'base_cell')
  AND (o.established_on IS NULL OR o.established_on <= root.d)
  AND (o.dissolved_on IS NULL OR o.dissolved_on > root.d)
  AND ($3::ltree IS NULL OR o.path <@ $3::ltree)
ORDER BY o.code
