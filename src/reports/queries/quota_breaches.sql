-- The base organisations whose members graded `excellent` in year $1 exceed 20% of those graded `good`, in code
-- order, with the tree as it stood on $2 (the last day of the year): the base organisations are those of a base
-- kind then, under one of the root paths $3 (NULL: everywhere; an empty array: nowhere), with their name then,
-- and each adds up the evaluations of the organisations in its subtree of that day.
--
-- From the figures kept per base organisation (`member_evaluation_bases`, in shards, with its code and name) when
-- the year is marked up to date, otherwise counted from the evaluation counts through the tree. One statement, so
-- that the mark and the figures are read in one snapshot: a change of the tree that commits after the caller's
-- recount cannot leave it reading rows that no longer hold. The branches are guarded by the mark, which PostgreSQL
-- evaluates once, before it reads anything else.
--
-- Kept, everywhere: the year's kept rows alone. Kept, in a subtree: the subtree's base organisations of that day,
-- each with its kept rows by their key.
--
-- Counted: upwards rather than down each base organisation's subtree. The counts are first added up by the path
-- of the organisation above each counted one (the counted one itself, when it is a base organisation), which
-- leaves about one row per base organisation. The labels of a path are its organisations' ids, so the path above
-- is the counted one's without its last label, and each row finds its base organisation among those labels by a
-- hash join. The counted ones are found as in `member_grades.sql`: everywhere, every count of the year joined to
-- its organisation's version; in a subtree, the subtree's versions first, each with its own counts by their key.
WITH mark AS (
    SELECT EXISTS (SELECT 1 FROM member_evaluation_base_years WHERE year = $1) AS kept
),
counted AS MATERIALIZED (
    SELECT CASE WHEN v.kind IN ('base_committee', 'base_cell') THEN v.path
                ELSE subpath(v.path, 0, nlevel(v.path) - 1) END AS above,
           sum(c.excellent) AS excellent, sum(c.good) AS good
    FROM member_evaluation_counts c
    JOIN organisation_versions v ON v.organisation_id = c.organisation_id AND v.valid_during @> $2::date
    WHERE NOT (SELECT kept FROM mark) AND $3::ltree[] IS NULL AND c.year = $1
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
    WHERE NOT (SELECT kept FROM mark) AND v.valid_during @> $2::date AND v.path <@ ANY($3::ltree[])
      AND c.excellent IS NOT NULL
    GROUP BY 1
),
upwards AS MATERIALIZED (
    SELECT ltree2text(subpath(counted.above, level, 1))::uuid AS organisation_id, counted.excellent, counted.good
    FROM counted
    CROSS JOIN LATERAL generate_series(0, nlevel(counted.above) - 1) AS level
)
SELECT k.organisation_id, k.code, k.name, sum(k.excellent)::bigint AS excellent, sum(k.good)::bigint AS good
FROM member_evaluation_bases k
WHERE (SELECT kept FROM mark) AND $3::ltree[] IS NULL AND k.year = $1
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
WHERE (SELECT kept FROM mark) AND b.valid_during @> $2::date AND b.path <@ ANY($3::ltree[])
  AND b.kind IN ('base_committee', 'base_cell') AND 5 * k.excellent > k.good
UNION ALL
SELECT b.organisation_id, o.code, b.name, sum(upwards.excellent)::bigint, sum(upwards.good)::bigint
FROM upwards
JOIN organisation_versions b ON b.organisation_id = upwards.organisation_id AND b.valid_during @> $2::date
JOIN organisations o ON o.id = b.organisation_id
WHERE NOT (SELECT kept FROM mark) AND b.kind IN ('base_committee', 'base_cell')
  AND ($3::ltree[] IS NULL OR b.path <@ ANY($3::ltree[]))
GROUP BY b.organisation_id, o.code, b.name
HAVING 5 * sum(upwards.excellent) > sum(upwards.good)
ORDER BY code
