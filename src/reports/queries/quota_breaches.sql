-- The base organisations inside the subtree rooted at path $2 (NULL: everywhere) whose members graded `excellent`
-- in year $1 exceed 20% of those graded `good`, in code order. It starts from the base organisations and walks
-- down their subtrees on the path index, so a district's report reads only the district's rows.
SELECT b.id AS organisation_id, b.code, b.name,
       count(*) FILTER (WHERE me.grade = 'excellent') AS excellent,
       count(*) FILTER (WHERE me.grade = 'good') AS good
FROM organisations b
JOIN organisations o ON o.path <@ b.path
JOIN member_evaluations me ON me.organisation_id = o.id AND me.year = $1
WHERE b.kind IN ('base_committee', 'base_cell')
  AND ($2::ltree IS NULL OR b.path <@ $2::ltree)
GROUP BY b.id, b.code, b.name
HAVING 5 * count(*) FILTER (WHERE me.grade = 'excellent') > count(*) FILTER (WHERE me.grade = 'good')
ORDER BY b.code
