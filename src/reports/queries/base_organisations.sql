-- Base organisations that existed at some point of [$2, $1] ($1 the last day, $2 the first), inside the subtree
-- rooted at path $3 (NULL: everywhere).
SELECT count(*) AS n
FROM organisations o
WHERE o.kind IN ('base_committee', 'base_cell')
  AND (o.established_on IS NULL OR o.established_on <= $1)
  AND (o.dissolved_on IS NULL OR o.dissolved_on > $2)
  AND ($3::ltree IS NULL OR o.path <@ $3::ltree)
