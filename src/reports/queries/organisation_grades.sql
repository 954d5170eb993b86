-- The evaluations of year $1 by grade over the base organisations that existed in [$3, $2], inside the subtree
-- rooted at path $4 (NULL: everywhere); `exemplary` counted apart.
SELECT e.grade, count(*) AS count, count(*) FILTER (WHERE e.exemplary) AS exemplary
FROM evaluations e
JOIN organisations o ON o.id = e.organisation_id
WHERE e.year = $1
  AND o.kind IN ('base_committee', 'base_cell')
  AND (o.established_on IS NULL OR o.established_on <= $2)
  AND (o.dissolved_on IS NULL OR o.dissolved_on > $3)
  AND ($4::ltree IS NULL OR o.path <@ $4::ltree)
GROUP BY e.grade
