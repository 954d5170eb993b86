-- Admissions dated in [$1, $2] into organisations inside the subtree rooted at path $3 (NULL: everywhere), counted
-- from the admission entries of the members' histories (so a later transfer does not move an admission), grouped
-- by $4: 'total', 'month', 'quarter', 'year', or 'organisation' (the base organisation admitted into, with its
-- name; admissions into an organisation with no base organisation above it are then left out).
SELECT CASE $4
           WHEN 'month' THEN to_char(e."on", 'YYYY-MM')
           WHEN 'quarter' THEN to_char(e."on", 'YYYY-"Q"Q')
           WHEN 'year' THEN to_char(e."on", 'YYYY')
           WHEN 'organisation' THEN b.id::text
           ELSE 'total'
       END AS key,
       b.name AS name,
       count(*) AS count
FROM member_events e
JOIN organisations o ON o.id = e.organisation_id
LEFT JOIN LATERAL (
    SELECT base.id, base.name
    FROM organisations base
    WHERE $4 = 'organisation' AND base.path @> o.path AND base.kind IN ('base_committee', 'base_cell')
) b ON true
WHERE e.type = 'admitted'
  AND e."on" BETWEEN $1 AND $2
  AND ($3::ltree IS NULL OR o.path <@ $3::ltree)
  AND ($4 <> 'organisation' OR b.id IS NOT NULL)
GROUP BY 1, 2
ORDER BY 1
