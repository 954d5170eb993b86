-- The member evaluations of year $1 by grade, over members evaluated in organisations that, as the tree stood on
-- $2 (the last day of the year), lay under one of the root paths $3 (NULL: everywhere; an empty array: nowhere).
SELECT me.grade AS key, count(*) AS count
FROM member_evaluations me
JOIN organisation_versions v ON v.organisation_id = me.organisation_id AND v.valid_during @> $2::date
WHERE me.year = $1
  AND ($3::ltree[] IS NULL OR v.path <@ ANY($3::ltree[]))
GROUP BY me.grade
