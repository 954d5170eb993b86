-- The member evaluations of year $1 by grade, over members evaluated in organisations that, as the tree stood on
-- $2 (the last day of the year), lay under one of the root paths $3 (NULL: everywhere; an empty array: nowhere),
-- from the counts the evaluation triggers keep: one row per organisation and shard rather than one per member.
-- The two branches exclude each other, so PostgreSQL runs one: everywhere needs no look at the tree; a subtree
-- is found on the (path, valid_during) index and each organisation's counts by their key, added up in a subquery
-- of its own so that PostgreSQL does not hash the whole country's counts to join a district's organisations (as
-- integers, the counts' own type, so that both branches add up the same type).
WITH counts AS (
    SELECT c.excellent, c.good, c.completed, c.not_completed
    FROM member_evaluation_counts c
    WHERE $3::ltree[] IS NULL AND c.year = $1
    UNION ALL
    SELECT c.excellent, c.good, c.completed, c.not_completed
    FROM organisation_versions v
    CROSS JOIN LATERAL (
        SELECT sum(excellent)::integer AS excellent, sum(good)::integer AS good,
               sum(completed)::integer AS completed, sum(not_completed)::integer AS not_completed
        FROM member_evaluation_counts
        WHERE organisation_id = v.organisation_id AND year = $1
    ) c
    WHERE v.valid_during @> $2::date AND v.path <@ ANY($3::ltree[])
),
totals AS (
    SELECT coalesce(sum(excellent), 0) AS excellent, coalesce(sum(good), 0) AS good,
           coalesce(sum(completed), 0) AS completed, coalesce(sum(not_completed), 0) AS not_completed
    FROM counts
)
SELECT grade.key, grade.count
FROM totals
CROSS JOIN LATERAL (VALUES ('excellent', totals.excellent), ('good', totals.good),
                           ('completed', totals.completed), ('not_completed', totals.not_completed))
    AS grade (key, count)
WHERE grade.count > 0
