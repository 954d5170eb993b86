-- Members absent without an excuse from meetings of three or more months of year $1, at meetings held by
-- organisations inside the subtree at path $2 (NULL: everywhere), by the organisation that held them: the kept
-- absences (`meeting_absences`) through their partial index of those three months or more.
SELECT a.member_id, mb.full_name, a.organisation_id, a.absent_months::bigint AS months
FROM meeting_absences a
JOIN organisations o ON o.id = a.organisation_id
JOIN members mb ON mb.id = a.member_id
WHERE a.year = $1 AND a.absent_months >= 3
  AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
ORDER BY a.organisation_id, a.member_id
