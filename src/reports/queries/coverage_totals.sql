-- The coverage totals of resolution $1 over the active (on day $4) base organisations strictly under the issuer's
-- path $2 and inside the caller's subtree $3.
SELECT count(*) AS organisations,
       count(*) FILTER (WHERE i.status = 'planned') AS planned,
       count(*) FILTER (WHERE i.status = 'in_progress') AS in_progress,
       count(*) FILTER (WHERE i.status = 'completed') AS completed,
       count(*) FILTER (WHERE i.id IS NULL) AS not_started
FROM organisations o
LEFT JOIN resolution_implementations i ON i.organisation_id = o.id AND i.resolution_id = $1
WHERE o.path <@ $2 AND o.path <> $2 AND o.path <@ $3
  AND o.kind IN ('base_committee', 'base_cell')
  AND (o.dissolved_on IS NULL OR o.dissolved_on > $4)
