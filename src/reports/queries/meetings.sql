-- The cells and base cells inside the subtree at path $2 (NULL: everywhere) that were active during year $1, in code
-- order, with the figures kept for their meetings of the year (`meeting_years`; NULL for a cell without one): the
-- meetings, the regular and thematic meetings of each month, the members expected and present over all meetings,
-- and the meetings of good quality (more than 85% present, nobody absent without an excuse).
SELECT o.id AS organisation_id, o.code, o.name,
       coalesce(k.meetings, 0)::bigint AS meetings,
       k.regular, k.thematic,
       coalesce(k.expected, 0)::bigint AS expected,
       coalesce(k.present, 0)::bigint AS present,
       coalesce(k.good_quality, 0)::bigint AS good_quality
FROM organisations o
LEFT JOIN meeting_years k ON k.organisation_id = o.id AND k.year = $1
WHERE o.kind IN ('base_cell', 'cell')
  AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
  AND (o.established_on IS NULL OR o.established_on <= make_date($1, 12, 31))
  AND (o.dissolved_on IS NULL OR o.dissolved_on > make_date($1, 1, 1))
ORDER BY o.code
