-- The base organisations whose members graded `excellent` in year $1 exceed 20% of those graded `good`, in code
-- order, with the tree as it stood on $2 (the last day of the year): the base organisations are those of a base
-- kind then, under one of the root paths $3 (NULL: everywhere; an empty array: nowhere), with their name then,
-- and each counts the evaluations recorded in its subtree of that day. It starts from the base organisations and
-- walks down their subtrees on the (path, valid_during) index, so a district's report reads only its rows.
SELECT b.organisation_id, o.code, b.name,
       count(*) FILTER (WHERE me.grade = 'excellent') AS excellent,
       count(*) FILTER (WHERE me.grade = 'good') AS good
FROM organisation_versions b
JOIN organisations o ON o.id = b.organisation_id
JOIN organisation_versions v ON v.path <@ b.path AND v.valid_during @> $2::date
JOIN member_evaluations me ON me.organisation_id = v.organisation_id AND me.year = $1
WHERE b.valid_during @> $2::date
  AND b.kind IN ('base_committee', 'base_cell')
  AND ($3::ltree[] IS NULL OR b.path <@ ANY($3::ltree[]))
GROUP BY b.organisation_id, o.code, b.name
HAVING 5 * count(*) FILTER (WHERE me.grade = 'excellent') > count(*) FILTER (WHERE me.grade = 'good')
ORDER BY o.code
