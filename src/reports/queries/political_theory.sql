-- Current members (probationary, official, exempt) inside the subtree rooted at path $1 (NULL: everywhere), by
-- political theory level.
SELECT m.political_theory AS key, count(*) AS count
FROM members m
JOIN organisations o ON o.id = m.organisation_id
WHERE m.status IN ('probationary', 'official', 'exempt')
  AND ($1::ltree IS NULL OR o.path <@ $1::ltree)
GROUP BY m.political_theory
