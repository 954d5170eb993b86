-- The two functions that add to the kept counts were written in SQL, and PostgreSQL plans the body of an SQL
-- function afresh at every call: with an insert's triggers calling one per statement, that planning was a fifth of
-- an admission's time in the database (16 connections admitting: 1,825 transactions a second before, 2,255 after).
-- In PL/pgSQL the statement is planned once per connection and kept. Same statements, same results.

CREATE OR REPLACE FUNCTION organisation_member_counts_add(orgs uuid[], statuses text[], theories text[], deltas integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
                theory_advanced = c.theory_advanced + EXCLUDED.theory_advanced;
END
$$;

CREATE OR REPLACE FUNCTION member_evaluation_counts_add(orgs uuid[], years integer[], grades text[], deltas integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
                not_completed = c.not_completed + EXCLUDED.not_completed;
END
$$;
