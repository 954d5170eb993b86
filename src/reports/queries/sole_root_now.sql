-- Whether organisation $1 is the only organisation at the top of the tree today: no other organisation is without
-- a parent, so every path begins with $1's label and its subtree is the whole registry (the organisations'
-- (parent_id, id) index).
SELECT NOT EXISTS (SELECT 1 FROM organisations WHERE parent_id IS NULL AND id <> $1) AS sole
