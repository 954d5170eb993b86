-- The dues report lists the members behind with their names, which it read by joining the members behind to the
-- whole `members` table: for the country of the national registry that join read 1 GB more than the kept rows
-- themselves and the statement took 3.8-5.6 s in psql, so that in the service, beside the month figures, it ran
-- into the statement timeout (503). A member's kept row now holds its name too, and is kept like the rest of the
-- row: a rename notes the member, and the catching up (which the report runs before it reads) writes the row again.

-- No member is written until this commits: a rename committed after the rows are copied below, and before the
-- trigger that notes renames is in place, would otherwise leave its row with the old name.
LOCK TABLE members IN SHARE MODE;

-- Every noted member counted first, so that every row belongs to a member: a row may lack its member only while
-- the member's deletion is noted and not yet counted.
SELECT dues_catch_up(max(id), 2147483647) FROM dues_stale HAVING count(*) > 0;

-- The rows written again whole rather than updated, so that the table keeps its size (an update of every row
-- would leave it twice as large for the scans that read it). What the rows contribute does not change.
CREATE TEMPORARY TABLE dues_members_named ON COMMIT DROP AS
SELECT dm.member_id, dm.organisation_id, dm.open_from, dm.closed, dm.paid, dm.amounts,
       coalesce(m.full_name, '') AS full_name
FROM dues_members dm
LEFT JOIN members m ON m.id = dm.member_id;
TRUNCATE dues_members;
ALTER TABLE dues_members ADD COLUMN full_name text NOT NULL;
-- A subtree's members behind are read from the organisation index alone, names included.
DROP INDEX dues_members_organisation_idx;
INSERT INTO dues_members (member_id, organisation_id, open_from, closed, paid, amounts, full_name)
SELECT member_id, organisation_id, open_from, closed, paid, amounts, full_name FROM dues_members_named;
CREATE INDEX dues_members_organisation_idx ON dues_members (organisation_id, member_id)
    INCLUDE (open_from, closed, paid, full_name);
ANALYZE dues_members;

CREATE OR REPLACE FUNCTION dues_members_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dues_contribute(ids, -1);
    DELETE FROM dues_members dm
     WHERE dm.member_id = ANY (ids) AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = dm.member_id);
    INSERT INTO dues_members (member_id, organisation_id, open_from, closed, paid, amounts, full_name)
    SELECT m.id, m.organisation_id, sp.open_from, sp.closed, pd.paid, pd.amounts, m.full_name
    FROM members m
    LEFT JOIN (SELECT * FROM dues_member_spans_source WHERE member_id = ANY (ids)) sp ON sp.member_id = m.id
    LEFT JOIN (SELECT * FROM dues_member_paid WHERE member_id = ANY (ids)) pd ON pd.member_id = m.id
    WHERE m.id = ANY (ids)
    ON CONFLICT (member_id) DO UPDATE
        SET organisation_id = EXCLUDED.organisation_id, open_from = EXCLUDED.open_from, closed = EXCLUDED.closed,
            paid = EXCLUDED.paid, amounts = EXCLUDED.amounts, full_name = EXCLUDED.full_name;
    PERFORM dues_contribute(ids, 1);
END
$$;

CREATE OR REPLACE FUNCTION members_dues_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dues_stale (member_id)
    SELECT n.id FROM updated n JOIN previous p ON p.id = n.id
     WHERE (n.organisation_id, n.admitted_on, n.full_name)
           IS DISTINCT FROM (p.organisation_id, p.admitted_on, p.full_name);
    RETURN NULL;
END
$$;
