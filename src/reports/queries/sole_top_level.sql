-- Whether organisation $1 was the only organisation at the top of the tree on every day of [$2, $3]: no version of
-- another organisation without a parent covers any of those days. Every other organisation's path then begins with
-- $1's label on each of those days (a path's first label names the organisation at the top above it, whose own
-- version of that day has no parent), so $1's subtree of the time is the whole registry. Versions of organisations
-- not yet established or already dissolved count too, which can only answer false where true would be right.
-- The (parent_id, organisation_id) index of the versions holds the few top versions together.
SELECT NOT EXISTS (
    SELECT 1
    FROM organisation_versions v
    WHERE v.parent_id IS NULL
      AND v.organisation_id <> $1
      AND v.valid_during && daterange($2, $3, '[]')
) AS sole
