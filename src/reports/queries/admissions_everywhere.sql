-- Admissions dated in [$1, $2] in the whole registry, grouped by $3: 'total', 'month', 'quarter' or 'year'. This is
-- admissions.sql without the tree: every organisation has exactly one version on every day (its first starts at
-- minus infinity, and a change ends the current version on the day the next begins; migration tree_through_time),
-- so placing each admission in the tree as it stood that day changes no count of the whole registry. The admissions
-- index ("on", organisation_id) is read alone, and the days are counted before they are named.
SELECT key, NULL::text AS name, sum(admitted)::bigint AS count
FROM (
    SELECT CASE $3
               WHEN 'month' THEN to_char("on", 'YYYY-MM')
               WHEN 'quarter' THEN to_char("on", 'YYYY-"Q"Q')
               WHEN 'year' THEN to_char("on", 'YYYY')
               ELSE 'total'
           END AS key,
           admitted
    FROM (SELECT "on", count(*) AS admitted
          FROM member_events
          WHERE type = 'admitted' AND "on" BETWEEN $1 AND $2
          GROUP BY "on") days
) keyed
GROUP BY key
ORDER BY key
