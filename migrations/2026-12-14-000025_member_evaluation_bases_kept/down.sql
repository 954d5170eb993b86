DROP TRIGGER organisation_versions_bases_update ON organisation_versions;
DROP TRIGGER organisation_versions_bases_delete ON organisation_versions;
DROP TRIGGER organisation_versions_bases_insert ON organisation_versions;
DROP FUNCTION organisation_versions_bases_stale();
DROP FUNCTION pb_bases_shape(organisation_versions);
DROP TRIGGER organisations_bases_code ON organisations;
DROP FUNCTION organisations_bases_code();

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

DROP FUNCTION member_evaluation_bases_recount(integer);
DROP FUNCTION member_evaluation_bases_add(uuid[], integer[], text[], integer[]);
DROP FUNCTION member_evaluation_bases_writer();
DROP TABLE member_evaluation_base_years;
DROP TABLE member_evaluation_bases;
