-- The months of year $1 that have begun by the report date $2, and for each the members expected to pay dues:
-- members of an organisation inside the subtree at path $3 (NULL: everywhere), admitted by the end of the month,
-- probationary or official at its end (or on the report date, when earlier). Exempt members and members who
-- have left are not expected. `paid` holds the year's payments of those members.
--
-- Each member's history is read once and turned into spans (from an entry to the next), and a month takes the
-- span covering its last day, rather than looking the history up again for every month; the payments are read
-- per member, a year's range of one index, rather than one lookup per member and month.
WITH months AS (
    SELECT to_char(m, 'YYYY-MM') AS period,
           (m + interval '1 month' - interval '1 day')::date AS last_day
    FROM generate_series(make_date($1, 1, 1), make_date($1, 12, 1), interval '1 month') AS m
    WHERE m::date <= $2
),
scoped AS MATERIALIZED (
    SELECT mb.id, mb.full_name, mb.organisation_id, mb.admitted_on
    FROM members mb
    JOIN organisations o ON o.id = mb.organisation_id
    WHERE ($3::ltree IS NULL OR o.path <@ $3::ltree)
      AND mb.admitted_on <= make_date($1, 12, 31)
),
spans AS (
    SELECT e.member_id, e.status_after, e."on" AS since,
           lead(e."on") OVER (PARTITION BY e.member_id ORDER BY e."on", e.recorded_at) AS until
    FROM scoped s
    JOIN member_events e ON e.member_id = s.id
),
expected AS (
    SELECT s.id AS member_id, s.full_name, s.organisation_id, mo.period, mo.last_day
    FROM scoped s
    JOIN months mo ON s.admitted_on <= mo.last_day
    JOIN spans sp ON sp.member_id = s.id
                 AND sp.since <= least(mo.last_day, $2)
                 AND (sp.until IS NULL OR sp.until > least(mo.last_day, $2))
    WHERE sp.status_after IN ('probationary', 'official')
),
paid AS (
    SELECT d.member_id, d.period, d.amount
    FROM scoped s
    JOIN dues d ON d.member_id = s.id AND d.period BETWEEN $1 || '-01' AND $1 || '-12'
)
