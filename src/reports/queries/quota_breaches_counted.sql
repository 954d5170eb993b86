-- The rows of `quota_breaches.sql` counted without the figures kept per base organisation, for a year whose kept
-- figures are out of date and cannot be recounted now (writers hold the lock): the base organisations whose
-- members graded `excellent` in year $1 exceed 20% of those graded `good`, in code order, with the tree as it
-- stood on $2 (the last day of the year): the base organisations are those of a base kind then, under one of the
-- root paths $3 (NULL: everywhere; an empty array: nowhere), with their name then, and each adds up the evaluation
-- counts of the organisations in its subtree of that day.
--
-- It goes upwards rather than down each base organisation's subtree: the counts are first added up by the path of
-- the organisation above each counted one (the counted one itself, when it is a base organisation), which leaves
-- about one row per base organisation. The labels of a path are its organisations' ids, so the path above is the
-- counted one's without its last label, and each row finds its base organisation among those labels by a hash
-- join.
--
-- The counted ones are found as in `member_grades.sql`, in two branches of which PostgreSQL runs one: everywhere,
-- every count of the year joined to its organisation's version; in a subtree, the subtree's versions first, each
-- with its own counts by their key.
WITH counted AS MATERIALIZED (
    SELECT CASE WHEN v.kind IN ('base_committee', 'base_cell') THEN v.path
                ELSE subpath(v.path, 0, nlevel(v.path) - 1) END AS above,
           sum(c.excellent) AS excellent, sum(c.good) AS good
    FROM member_evaluation_counts c
    JOIN organisation_versions v ON v.organisation_id = c.organisation_id AND v.valid_during @> $2::date
    WHERE $3::ltree[] IS NULL AND c.year = $1
    GROUP BY 1
    UNION ALL
    SELECT CASE WHEN v.kind IN ('base_committee', 'base_cell') THEN v.path
                ELSE subpath(v.path, 0, nlevel(v.path) - 1) END,
           sum(c.excellent), sum(c.good)
    FROM organisation_versions v
    CROSS JOIN LATERAL (
        SELECT sum(excellent)::integer AS excellent, sum(good)::integer AS good
        FROM member_evaluation_counts
        WHERE organisation_id = v.organisation_id AND year = $1
    ) c
    WHERE v.valid_during @> $2::date AND v.path <@ ANY($3::ltree[]) AND c.excellent IS NOT NULL
    GROUP BY 1
),
upwards AS MATERIALIZED (
    SELECT ltree2text(subpath(counted.above, level, 1))::uuid AS organisation_id, counted.excellent, counted.good
    FROM counted
    CROSS JOIN LATERAL generate_series(0, nlevel(counted.above) - 1) AS level
)
SELECT b.organisation_id, o.code, b.name, sum(upwards.excellent)::bigint AS excellent,
       sum(upwards.good)::bigint AS good
FROM upwards
JOIN organisation_versions b ON b.organisation_id = upwards.organisation_id AND b.valid_during @> $2::date
JOIN organisations o ON o.id = b.organisation_id
WHERE b.kind IN ('base_committee', 'base_cell')
  AND ($3::ltree[] IS NULL OR b.path <@ ANY($3::ltree[]))
GROUP BY b.organisation_id, o.code, b.name
HAVING 5 * sum(upwards.excellent) > sum(upwards.good)
ORDER BY o.code
