-- Members of the whole registry current on day $1, by political theory level: admitted by then, and with no entry
-- by then that ended their membership (transferred out, expelled, removed, deceased: an ended membership does not
-- resume, so the last entry by then has a current status exactly when no such entry exists). Where they were does
-- not matter here, so their last entries need not be found one by one. The entries that end a membership have
-- an index of their own (migration member_events_endings): 1.76-1.81 s before it on the national registry as of
-- 2024-12-31, 1.19-1.23 s with it, most of which is now the read of every member.
SELECT m.political_theory AS key, count(*) AS count
FROM members m
WHERE m.admitted_on <= $1
  AND NOT EXISTS (
      SELECT 1 FROM member_events e
      WHERE e.member_id = m.id AND e."on" <= $1
        AND e.status_after NOT IN ('probationary', 'official', 'exempt')
  )
GROUP BY m.political_theory
