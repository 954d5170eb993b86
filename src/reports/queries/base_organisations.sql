-- Base organisations that existed at some point of [$2, $1] ($1 the last day, $2 the first), each placed by its
-- version covering the last day: its kind then must be a base kind, and its path then must lie under one of the
-- root paths $3 (NULL: everywhere; an empty array: nowhere). The GiST index on (path, valid_during) finds the
-- subtree of that day.
SELECT count(*) AS n
FROM organisation_versions v
JOIN organisations o ON o.id = v.organisation_id
WHERE v.valid_during @> $1::date
  AND v.kind IN ('base_committee', 'base_cell')
  AND (o.established_on IS NULL OR o.established_on <= $1)
  AND (o.dissolved_on IS NULL OR o.dissolved_on > $2)
  AND ($3::ltree[] IS NULL OR v.path <@ ANY($3::ltree[]))
