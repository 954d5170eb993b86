-- The coverage totals of resolution $1 over the base organisations under its issuer on the last day it applied
-- (today $2, or its valid_until when earlier, or the day before its issuer ended), inside the caller's subtree of today $3 (NULL: everywhere).
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
SELECT count(*) AS organisations,
       count(*) FILTER (WHERE i.status = 'planned') AS planned,
       count(*) FILTER (WHERE i.status = 'in_progress') AS in_progress,
       count(*) FILTER (WHERE i.status = 'completed') AS completed,
       count(*) FILTER (WHERE i.id IS NULL) AS not_started
FROM root
JOIN organisation_versions v ON v.path <@ root.path AND v.path <> root.path AND v.valid_during @> root.d
JOIN organisations o ON o.id = v.organisation_id
LEFT JOIN resolution_implementations i ON i.organisation_id = o.id AND i.resolution_id = $1
WHERE v.kind IN ('base_committee', 'base_cell')
  AND (o.established_on IS NULL OR o.established_on <= root.d)
  AND (o.dissolved_on IS NULL OR o.dissolved_on > root.d)
  AND ($3::ltree IS NULL OR o.path <@ $3::ltree)
