-- Members absent without an excuse from meetings of three or more months of year $1, at meetings held by
-- organisations inside the subtree at path $2 (NULL: everywhere), by the organisation that held them. Only the
-- meetings whose kept figures count someone absent without an excuse are looked into (about a quarter), each
-- through the partial index of those entries; names are read for the members listed only.
WITH held AS MATERIALIZED (
    SELECT m.id, m.organisation_id, m.held_on
    FROM organisations o
    JOIN meetings m ON m.organisation_id = o.id
    WHERE m.unexcused > 0
      AND m.held_on BETWEEN make_date($1, 1, 1) AND make_date($1, 12, 31)
      AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
),
absent AS (
    SELECT a.member_id, h.organisation_id, count(DISTINCT extract(month FROM h.held_on))::bigint AS months
    FROM held h
    JOIN meeting_attendance a ON a.meeting_id = h.id AND a.status = 'absent_unexcused'
    GROUP BY a.member_id, h.organisation_id
    HAVING count(DISTINCT extract(month FROM h.held_on)) >= 3
)
SELECT absent.member_id, mb.full_name, absent.organisation_id, absent.months
FROM absent
JOIN members mb ON mb.id = absent.member_id
ORDER BY absent.organisation_id, absent.member_id
