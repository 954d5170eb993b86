-- Members absent without an excuse from meetings of three or more months of year $1, at meetings held by
-- organisations inside the subtree at path $2 (NULL: everywhere), by the organisation that held them.
SELECT a.member_id, mb.full_name, m.organisation_id,
       count(DISTINCT extract(month FROM m.held_on))::bigint AS months
FROM meetings m
JOIN organisations o ON o.id = m.organisation_id
JOIN meeting_attendance a ON a.meeting_id = m.id
JOIN members mb ON mb.id = a.member_id
WHERE a.status = 'absent_unexcused'
  AND m.held_on BETWEEN make_date($1, 1, 1) AND make_date($1, 12, 31)
  AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
GROUP BY a.member_id, mb.full_name, m.organisation_id
HAVING count(DISTINCT extract(month FROM m.held_on)) >= 3
ORDER BY m.organisation_id, a.member_id
