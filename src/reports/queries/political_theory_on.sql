-- Members current on day $1 (probationary, official or exempt after the last entry of their history on or before
-- that day), by political theory level, in the organisation their history puts them in on that day (the receiving
-- organisation of a transfer, else the organisation of the entry) when it lay, as the tree stood that day, under
-- one of the root paths $2 (an empty array: nowhere). It starts from the organisations of that day's subtree (the
-- (path, valid_during) index), takes the members whose history names one of them by then, reads each one's last
-- entry backwards on the (member_id, on, id) index, and checks the organisation it names on that day's version.
-- Each organisation's entries are read on its index: as a join, PostgreSQL priced the index's reads of the rows
-- above the read of the whole history (11.8 million entries) and hashed it, 3.0-4.5 s for a province of the
-- national registry; read organisation by organisation (`OFFSET 0` keeps each read on its own), 1.2-2.1 s.
WITH subtree AS (
    SELECT v.organisation_id
    FROM organisation_versions v
    WHERE v.valid_during @> $1::date AND v.path <@ ANY($2::ltree[])
),
candidates AS (
    SELECT e.member_id FROM subtree s
    CROSS JOIN LATERAL (SELECT e.member_id FROM member_events e
                        WHERE e.organisation_id = s.organisation_id AND e."on" <= $1 OFFSET 0) e
    UNION
    SELECT e.member_id FROM subtree s
    CROSS JOIN LATERAL (SELECT e.member_id FROM member_events e
                        WHERE e.to_organisation_id = s.organisation_id AND e."on" <= $1 OFFSET 0) e
)
SELECT m.political_theory AS key, count(*) AS count
FROM candidates c
JOIN members m ON m.id = c.member_id
CROSS JOIN LATERAL (
    SELECT e.status_after, coalesce(e.to_organisation_id, e.organisation_id) AS organisation_id
    FROM member_events e
    WHERE e.member_id = c.member_id AND e."on" <= $1
    ORDER BY e."on" DESC, e.id DESC
    LIMIT 1
) last
WHERE last.status_after IN ('probationary', 'official', 'exempt')
  AND EXISTS (
      SELECT 1 FROM organisation_versions v
      WHERE v.organisation_id = last.organisation_id AND v.valid_during @> $1::date AND v.path <@ ANY($2::ltree[])
  )
GROUP BY m.political_theory
