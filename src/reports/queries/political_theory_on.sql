-- Members current on day $1 (probationary, official or exempt after the last entry of their history on or before
-- that day), by political theory level, in the organisation their history puts them in on that day (the receiving
-- organisation of a transfer, else the organisation of the entry) when it lay, as the tree stood that day, under
-- one of the root paths $2 (an empty array: nowhere).
--
-- It starts from today's kept counts (the member triggers keep them) of the organisations of that day's subtree,
-- less the members counted there today that were admitted after the day (read per organisation from an index
-- alone, migration 000029), and corrects them member by member for those admitted by the day with an entry after
-- it that moved them from or into one of those organisations: a transfer or an end of membership (the moves index
-- holds only these). Every other member admitted by the day is counted today as on the day: each entry names the
-- organisation the member was in before it, and recognition as official or an exemption moves no one. For a moved
-- member the day's standing is read from its last entry by then (the (member_id, on, id) index), today's from the
-- member.
-- Each organisation's reads are kept apart with `OFFSET 0` (otherwise PostgreSQL flattens them into one join and
-- hashes the history).
--
-- The work follows the subtree's moves since the day, not its admissions. On the national registry two provinces
-- took, in psql, as of 2023-12-31 87-109 ms against 126-207 when each member admitted since was read too, as of
-- 2012-12-31 150-180 against 302-978; as of 2024-12-31 (nothing after it) 64-85 against 48-74, the cost of the
-- admissions index's probe per organisation (bench/README, "twelfth session").
WITH subtree AS (
    SELECT v.organisation_id
    FROM organisation_versions v
    WHERE v.valid_during @> $1::date AND v.path <@ ANY($2::ltree[])
),
kept AS (
    SELECT coalesce(sum(c.theory_none), 0) AS none, coalesce(sum(c.theory_elementary), 0) AS elementary,
           coalesce(sum(c.theory_intermediate), 0) AS intermediate, coalesce(sum(c.theory_advanced), 0) AS advanced
    FROM subtree s
    CROSS JOIN LATERAL (
        SELECT sum(theory_none)::integer AS theory_none,
               sum(theory_elementary)::integer AS theory_elementary,
               sum(theory_intermediate)::integer AS theory_intermediate,
               sum(theory_advanced)::integer AS theory_advanced
        FROM organisation_member_counts
        WHERE organisation_id = s.organisation_id AND status IN ('probationary', 'official', 'exempt')
    ) c
),
admitted_since AS (
    SELECT m.political_theory AS key, -count(*) AS count
    FROM subtree s
    CROSS JOIN LATERAL (SELECT political_theory FROM members
                        WHERE organisation_id = s.organisation_id
                          AND status IN ('probationary', 'official', 'exempt') AND admitted_on > $1
                        OFFSET 0) m
    GROUP BY 1
),
changed AS (
    SELECT e.member_id FROM subtree s
    CROSS JOIN LATERAL (SELECT e.member_id FROM member_events e
                        WHERE e.organisation_id = s.organisation_id AND e."on" > $1
                          AND e.status_before IS NOT NULL
                          AND (e.to_organisation_id IS NOT NULL
                               OR e.status_after NOT IN ('probationary', 'official', 'exempt'))
                        OFFSET 0) e
    UNION
    SELECT e.member_id FROM subtree s
    CROSS JOIN LATERAL (SELECT e.member_id FROM member_events e
                        WHERE e.to_organisation_id = s.organisation_id AND e."on" > $1 OFFSET 0) e
),
corrections AS (
    SELECT m.political_theory AS key,
           coalesce(back.counted, false)::integer
           - (m.status IN ('probationary', 'official', 'exempt')
              AND m.organisation_id IN (SELECT organisation_id FROM subtree))::integer AS delta
    FROM changed c
    JOIN members m ON m.id = c.member_id
    LEFT JOIN LATERAL (
        SELECT e.status_after IN ('probationary', 'official', 'exempt')
               AND coalesce(e.to_organisation_id, e.organisation_id) IN (SELECT organisation_id FROM subtree) AS counted
        FROM member_events e
        WHERE e.member_id = c.member_id AND e."on" <= $1
        ORDER BY e."on" DESC, e.id DESC
        LIMIT 1
    ) back ON true
    WHERE m.admitted_on <= $1
),
counts AS (
    SELECT level.key, level.count
    FROM kept
    CROSS JOIN LATERAL (VALUES ('none', kept.none), ('elementary', kept.elementary),
                               ('intermediate', kept.intermediate), ('advanced', kept.advanced)) AS level (key, count)
    UNION ALL
    SELECT key, count FROM admitted_since
    UNION ALL
    SELECT key, delta FROM corrections
)
SELECT key, sum(count)::bigint AS count
FROM counts
GROUP BY key
HAVING sum(count) > 0
