-- The coverage of resolution $1, one row per active (on day $4) base organisation strictly under the issuer's
-- path $2 and inside the caller's subtree $3, in code order; `status` is NULL where nothing was recorded.
SELECT o.id AS organisation_id, o.code, o.name, o.kind, i.status, i.plan_adopted_on, i.reported_on
FROM organisations o
LEFT JOIN resolution_implementations i ON i.organisation_id = o.id AND i.resolution_id = $1
WHERE o.path <@ $2 AND o.path <> $2 AND o.path <@ $3
  AND o.kind IN ('base_committee', 'base_cell')
  AND (o.dissolved_on IS NULL OR o.dissolved_on > $4)
ORDER BY o.code
