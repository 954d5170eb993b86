-- The months of year $1 that have begun by the report date $2, and for each the members expected to pay dues:
-- members of an organisation inside the subtree at path $3 (NULL: everywhere), admitted by the end of the month,
-- probationary or official at its end (or on the report date, when earlier). Exempt members and members who
-- have left are not expected.
WITH months AS (
    SELECT to_char(m, 'YYYY-MM') AS period,
           (m + interval '1 month' - interval '1 day')::date AS last_day
    FROM generate_series(make_date($1, 1, 1), make_date($1, 12, 1), interval '1 month') AS m
    WHERE m::date <= $2
),
expected AS (
    SELECT mb.id AS member_id, mb.full_name, mb.organisation_id, mo.period, mo.last_day
    FROM members mb
    JOIN organisations o ON o.id = mb.organisation_id
    JOIN months mo ON mb.admitted_on <= mo.last_day
    WHERE ($3::ltree IS NULL OR o.path <@ $3::ltree)
      AND (SELECT e.status_after
           FROM member_events e
           WHERE e.member_id = mb.id AND e."on" <= least(mo.last_day, $2)
           ORDER BY e."on" DESC, e.recorded_at DESC
           LIMIT 1) IN ('probationary', 'official')
)
