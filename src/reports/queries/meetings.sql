-- Meetings of year $1 held by the cells and base cells inside the subtree at path $2 (NULL: everywhere) that were
-- active during the year: per organisation, the regular meetings and their months, thematic meetings per quarter,
-- attendance, and meetings of good quality (more than 85% present, nobody absent without an excuse). The
-- attendance figures are those each meeting keeps (a trigger recounts them as its attendance is written), read
-- with the meeting from the (organisation_id, held_on) index; the meetings are added up per organisation in a
-- hash (the months as a bit set, so no sort is needed) before the organisations are put in code order.
WITH orgs AS MATERIALIZED (
    SELECT o.id, o.code, o.name
    FROM organisations o
    WHERE o.kind IN ('base_cell', 'cell')
      AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
      AND (o.established_on IS NULL OR o.established_on <= make_date($1, 12, 31))
      AND (o.dissolved_on IS NULL OR o.dissolved_on > make_date($1, 1, 1))
),
held AS (
    SELECT m.organisation_id,
           count(*) AS meetings,
           count(*) FILTER (WHERE m.kind = 'regular') AS regular_meetings,
           bit_or(1 << extract(month FROM m.held_on)::int) FILTER (WHERE m.kind = 'regular') AS regular_months,
           count(*) FILTER (WHERE m.kind = 'thematic' AND extract(quarter FROM m.held_on) = 1) AS thematic_q1,
           count(*) FILTER (WHERE m.kind = 'thematic' AND extract(quarter FROM m.held_on) = 2) AS thematic_q2,
           count(*) FILTER (WHERE m.kind = 'thematic' AND extract(quarter FROM m.held_on) = 3) AS thematic_q3,
           count(*) FILTER (WHERE m.kind = 'thematic' AND extract(quarter FROM m.held_on) = 4) AS thematic_q4,
           sum(m.expected) AS expected,
           sum(m.present) AS present,
           count(*) FILTER (WHERE m.expected > 0 AND m.present * 100 > m.expected * 85 AND m.unexcused = 0)
               AS good_quality
    FROM orgs
    JOIN meetings m ON m.organisation_id = orgs.id
    WHERE m.held_on BETWEEN make_date($1, 1, 1) AND make_date($1, 12, 31)
    GROUP BY m.organisation_id
)
SELECT orgs.id AS organisation_id, orgs.code, orgs.name,
       coalesce(h.meetings, 0) AS meetings,
       coalesce(h.regular_meetings, 0) AS regular_meetings,
       ARRAY(SELECT month FROM generate_series(1, 12) AS month WHERE h.regular_months & (1 << month) <> 0)
           AS regular_months,
       coalesce(h.thematic_q1, 0) AS thematic_q1,
       coalesce(h.thematic_q2, 0) AS thematic_q2,
       coalesce(h.thematic_q3, 0) AS thematic_q3,
       coalesce(h.thematic_q4, 0) AS thematic_q4,
       coalesce(h.expected, 0)::bigint AS expected,
       coalesce(h.present, 0)::bigint AS present,
       coalesce(h.good_quality, 0) AS good_quality
FROM orgs
LEFT JOIN held h ON h.organisation_id = orgs.id
ORDER BY orgs.code
