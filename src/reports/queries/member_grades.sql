-- The member evaluations of year $1 by grade, over members evaluated in organisations inside the subtree rooted at
-- path $2 (NULL: everywhere).
SELECT me.grade AS key, count(*) AS count
FROM member_evaluations me
JOIN organisations o ON o.id = me.organisation_id
WHERE me.year = $1
  AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
GROUP BY me.grade
