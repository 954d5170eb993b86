-- The evaluations of year $1 by grade over the base organisations that existed in [$3, $2], each placed by its
-- version covering $2 (the last day of the year): a base kind then, and a path then under one of the root paths
-- $4 (NULL: everywhere; an empty array: nowhere). `exemplary` counted apart.
SELECT e.grade, count(*) AS count, count(*) FILTER (WHERE e.exemplary) AS exemplary
FROM organisation_versions v
JOIN organisations o ON o.id = v.organisation_id
JOIN evaluations e ON e.organisation_id = v.organisation_id AND e.year = $1
WHERE v.valid_during @> $2::date
  AND v.kind IN ('base_committee', 'base_cell')
  AND (o.established_on IS NULL OR o.established_on <= $2)
  AND (o.dissolved_on IS NULL OR o.dissolved_on > $3)
  AND ($4::ltree[] IS NULL OR v.path <@ ANY($4::ltree[]))
GROUP BY e.grade
