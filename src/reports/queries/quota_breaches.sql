-- The base organisations whose members graded `excellent` in year $1 exceed 20% of those graded `good`, in code
-- order, with the tree as it stood on $2 (the last day of the year): the base organisations are those of a base
-- kind then, under one of the root paths $3 (NULL: everywhere; an empty array: nowhere), with their name then.
--
-- From the figures kept for each (`member_evaluation_bases`, over its subtree of that day, in shards, with its
-- code and name), which the caller has brought up to date (`member_evaluation_bases_recount`). Two branches, of
-- which PostgreSQL runs one: everywhere, the year's kept rows alone; in a subtree, the subtree's base
-- organisations first, each with its kept rows by their key.
SELECT k.organisation_id, k.code, k.name, sum(k.excellent)::bigint AS excellent, sum(k.good)::bigint AS good
FROM member_evaluation_bases k
WHERE $3::ltree[] IS NULL AND k.year = $1
GROUP BY k.organisation_id, k.code, k.name
HAVING 5 * sum(k.excellent) > sum(k.good)
UNION ALL
SELECT b.organisation_id, k.code, k.name, k.excellent, k.good
FROM organisation_versions b
CROSS JOIN LATERAL (
    SELECT min(code) AS code, min(name) AS name, sum(excellent)::bigint AS excellent, sum(good)::bigint AS good
    FROM member_evaluation_bases
    WHERE year = $1 AND organisation_id = b.organisation_id
) k
WHERE b.valid_during @> $2::date AND b.path <@ ANY($3::ltree[]) AND b.kind IN ('base_committee', 'base_cell')
  AND 5 * k.excellent > k.good
ORDER BY code
