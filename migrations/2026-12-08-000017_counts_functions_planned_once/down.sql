-- Back to the SQL functions of 2026-12-07-000015.

CREATE OR REPLACE FUNCTION organisation_member_counts_add(orgs uuid[], statuses text[], theories text[], deltas integer[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO organisation_member_counts AS c
        (organisation_id, status, shard, members, theory_none, theory_elementary, theory_intermediate, theory_advanced)
    SELECT o, s, pg_backend_pid() % 16, sum(d),
           coalesce(sum(d) FILTER (WHERE t = 'none'), 0), coalesce(sum(d) FILTER (WHERE t = 'elementary'), 0),
           coalesce(sum(d) FILTER (WHERE t = 'intermediate'), 0), coalesce(sum(d) FILTER (WHERE t = 'advanced'), 0)
    FROM unnest(orgs, statuses, theories, deltas) AS x(o, s, t, d)
    GROUP BY o, s
    ORDER BY o, s
    ON CONFLICT (organisation_id, status, shard) DO UPDATE
        SET members = c.members + EXCLUDED.members,
            theory_none = c.theory_none + EXCLUDED.theory_none,
            theory_elementary = c.theory_elementary + EXCLUDED.theory_elementary,
            theory_intermediate = c.theory_intermediate + EXCLUDED.theory_intermediate,
            theory_advanced = c.theory_advanced + EXCLUDED.theory_advanced
$$;

CREATE OR REPLACE FUNCTION member_evaluation_counts_add(orgs uuid[], years integer[], grades text[], deltas integer[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO member_evaluation_counts AS c (organisation_id, year, shard, excellent, good, completed, not_completed)
    SELECT o, y, pg_backend_pid() % 16,
           coalesce(sum(d) FILTER (WHERE g = 'excellent'), 0), coalesce(sum(d) FILTER (WHERE g = 'good'), 0),
           coalesce(sum(d) FILTER (WHERE g = 'completed'), 0), coalesce(sum(d) FILTER (WHERE g = 'not_completed'), 0)
    FROM unnest(orgs, years, grades, deltas) AS x(o, y, g, d)
    GROUP BY o, y
    ORDER BY o, y
    ON CONFLICT (organisation_id, year, shard) DO UPDATE
        SET excellent = c.excellent + EXCLUDED.excellent,
            good = c.good + EXCLUDED.good,
            completed = c.completed + EXCLUDED.completed,
            not_completed = c.not_completed + EXCLUDED.not_completed
$$;
