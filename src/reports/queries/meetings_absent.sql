-- Members absent without an excuse from meetings of three or more months of year $1, at meetings held by the
-- organisations $2: the kept absences (`meeting_absences`), read by organisation and year.
SELECT a.member_id, mb.full_name, a.organisation_id, a.absent_months::bigint AS months
FROM meeting_absences a
JOIN members mb ON mb.id = a.member_id
WHERE a.organisation_id = ANY($2) AND a.year = $1 AND a.absent_months >= 3
ORDER BY a.organisation_id, a.member_id
