-- Current members (probationary, official, exempt) inside the subtree rooted at path $1 (NULL: everywhere), by
-- political theory level, from the counts the member triggers keep: one row per organisation, status and shard
-- rather than one per member. The two branches exclude each other, so PostgreSQL runs one: everywhere needs no
-- look at the tree; a subtree is found on the path index and its counts by their key.
WITH counts AS (
    SELECT c.theory_none, c.theory_elementary, c.theory_intermediate, c.theory_advanced
    FROM organisation_member_counts c
    WHERE $1::ltree IS NULL AND c.status IN ('probationary', 'official', 'exempt')
    UNION ALL
    SELECT c.theory_none, c.theory_elementary, c.theory_intermediate, c.theory_advanced
    FROM organisations o
    JOIN organisation_member_counts c ON c.organisation_id = o.id
    WHERE o.path <@ $1::ltree AND c.status IN ('probationary', 'official', 'exempt')
),
totals AS (
    SELECT coalesce(sum(theory_none), 0) AS none, coalesce(sum(theory_elementary), 0) AS elementary,
           coalesce(sum(theory_intermediate), 0) AS intermediate, coalesce(sum(theory_advanced), 0) AS advanced
    FROM counts
)
SELECT level.key, level.count
FROM totals
CROSS JOIN LATERAL (VALUES ('none', totals.none), ('elementary', totals.elementary),
                           ('intermediate', totals.intermediate), ('advanced', totals.advanced))
    AS level (key, count)
WHERE level.count > 0
