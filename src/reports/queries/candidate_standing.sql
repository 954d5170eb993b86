-- The candidates proposed by $1 inside the subtree rooted at path $2 (NULL: everywhere), each at the stage of its
-- latest step on or before $1, with the limit that step set for the next one.
WITH standing AS (
    SELECT c.id, c.organisation_id, c.full_name,
           coalesce(s.type, 'proposed') AS stage,
           coalesce(s."on", c.proposed_on) AS stage_on,
           s.due_by
    FROM candidates c
    JOIN organisations o ON o.id = c.organisation_id
    LEFT JOIN LATERAL (
        SELECT cs.type, cs."on", cs.due_by
        FROM candidate_steps cs
        WHERE cs.candidate_id = c.id AND cs."on" <= $1
        ORDER BY cs."on" DESC, cs.recorded_at DESC
        LIMIT 1
    ) s ON true
    WHERE c.proposed_on <= $1
      AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
)
