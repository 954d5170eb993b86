-- The paths organisation $1 had on the days of [$2, $3] when it existed (established by then, or not recorded,
-- and not yet dissolved): one path for a single day, more when it moved during the period, none when it did not
-- exist at all then.
SELECT DISTINCT v.path
FROM organisation_versions v
JOIN organisations o ON o.id = v.organisation_id
WHERE v.organisation_id = $1
  AND NOT isempty(v.valid_during * daterange($2, $3, '[]') * daterange(o.established_on, o.dissolved_on))
