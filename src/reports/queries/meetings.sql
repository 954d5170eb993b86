-- Meetings of year $1 held by the cells and base cells inside the subtree at path $2 (NULL: everywhere) that were
-- active during the year: per organisation, the regular meetings and their months, thematic meetings per quarter,
-- attendance, and meetings of good quality (more than 85% present, nobody absent without an excuse). The
-- attendance figures are those each meeting keeps (a trigger recounts them as its attendance is written).
WITH orgs AS (
    SELECT o.id, o.code, o.name
    FROM organisations o
    WHERE o.kind IN ('base_cell', 'cell')
      AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
      AND (o.established_on IS NULL OR o.established_on <= make_date($1, 12, 31))
      AND (o.dissolved_on IS NULL OR o.dissolved_on > make_date($1, 1, 1))
),
held AS (
    SELECT m.id, m.organisation_id, m.kind, m.held_on, m.expected, m.present, m.unexcused
    FROM meetings m
    JOIN orgs ON orgs.id = m.organisation_id
    WHERE m.held_on BETWEEN make_date($1, 1, 1) AND make_date($1, 12, 31)
)
SELECT orgs.id AS organisation_id, orgs.code, orgs.name,
       count(h.id) AS meetings,
       count(h.id) FILTER (WHERE h.kind = 'regular') AS regular_meetings,
       coalesce(array_agg(DISTINCT extract(month FROM h.held_on)::int) FILTER (WHERE h.kind = 'regular'), '{}')
           AS regular_months,
       count(h.id) FILTER (WHERE h.kind = 'thematic' AND extract(quarter FROM h.held_on) = 1) AS thematic_q1,
       count(h.id) FILTER (WHERE h.kind = 'thematic' AND extract(quarter FROM h.held_on) = 2) AS thematic_q2,
       count(h.id) FILTER (WHERE h.kind = 'thematic' AND extract(quarter FROM h.held_on) = 3) AS thematic_q3,
       count(h.id) FILTER (WHERE h.kind = 'thematic' AND extract(quarter FROM h.held_on) = 4) AS thematic_q4,
       coalesce(sum(h.expected), 0)::bigint AS expected,
       coalesce(sum(h.present), 0)::bigint AS present,
       count(h.id) FILTER (WHERE h.expected > 0 AND h.present * 100 > h.expected * 85 AND h.unexcused = 0)
           AS good_quality
FROM orgs
LEFT JOIN held h ON h.organisation_id = orgs.id
GROUP BY orgs.id, orgs.code, orgs.name
ORDER BY orgs.code
