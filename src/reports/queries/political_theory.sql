-- Current members (probationary, official, exempt) inside the subtree rooted at path $1 (NULL: everywhere), by
-- political theory level, from the counts the member triggers keep: one row per organisation, status and shard
-- rather than one per member. The two branches exclude each other, so PostgreSQL runs one: everywhere needs no
-- look at the tree; a subtree is found on the path index and each organisation's counts by their key. The counts
-- are added up per organisation in a subquery of its own (as integers, the counts' own type), which keeps
-- PostgreSQL from hashing every count of the country to join a few thousand organisations.
WITH counts AS (
    SELECT c.theory_none, c.theory_elementary, c.theory_intermediate, c.theory_advanced
    FROM organisation_member_counts c
    WHERE $1::ltree IS NULL AND c.status IN ('probationary', 'official', 'exempt')
    UNION ALL
    SELECT c.theory_none, c.theory_elementary, c.theory_intermediate, c.theory_advanced
    FROM organisations o
    CROSS JOIN LATERAL (
        SELECT sum(theory_none)::integer AS theory_none,
               sum(theory_elementary)::integer AS theory_elementary,
               sum(theory_intermediate)::integer AS theory_intermediate,
               sum(theory_advanced)::integer AS theory_advanced
        FROM organisation_member_counts
        WHERE organisation_id = o.id AND status IN ('probationary', 'official', 'exempt')
    ) c
    WHERE o.path <@ $1::ltree
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
