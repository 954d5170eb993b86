-- The example data sets `partybase seed` has loaded into this database, so that a second run recognises its own
-- data by what it loaded rather than by a code that someone else's organisation may also carry.
CREATE TABLE seed_loads (
    name      text PRIMARY KEY,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seed_loads_name_length CHECK (char_length(name) BETWEEN 1 AND 64)
);

-- A database that loaded the demo before this table existed: the audit trail names every organisation the seed
-- created (actor "cli", request id "seed-demo").
INSERT INTO seed_loads (name, loaded_at)
SELECT 'thanh-son-2012', min(at)
FROM audit_events
WHERE actor = 'cli' AND request_id = 'seed-demo' AND resource_type = 'organisation'
HAVING count(*) > 0;
