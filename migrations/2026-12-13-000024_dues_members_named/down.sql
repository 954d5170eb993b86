CREATE OR REPLACE FUNCTION members_dues_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dues_stale (member_id)
    SELECT n.id FROM updated n JOIN previous p ON p.id = n.id
     WHERE (n.organisation_id, n.admitted_on) IS DISTINCT FROM (p.organisation_id, p.admitted_on);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dues_members_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dues_contribute(ids, -1);
    DELETE FROM dues_members dm
     WHERE dm.member_id = ANY (ids) AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = dm.member_id);
    INSERT INTO dues_members (member_id, organisation_id, open_from, closed, paid, amounts)
    SELECT m.id, m.organisation_id, sp.open_from, sp.closed, pd.paid, pd.amounts
    FROM members m
    LEFT JOIN (SELECT * FROM dues_member_spans_source WHERE member_id = ANY (ids)) sp ON sp.member_id = m.id
    LEFT JOIN (SELECT * FROM dues_member_paid WHERE member_id = ANY (ids)) pd ON pd.member_id = m.id
    WHERE m.id = ANY (ids)
    ON CONFLICT (member_id) DO UPDATE
        SET organisation_id = EXCLUDED.organisation_id, open_from = EXCLUDED.open_from, closed = EXCLUDED.closed,
            paid = EXCLUDED.paid, amounts = EXCLUDED.amounts;
    PERFORM dues_contribute(ids, 1);
END
$$;

DROP INDEX dues_members_organisation_idx;
ALTER TABLE dues_members DROP COLUMN full_name;
CREATE INDEX dues_members_organisation_idx ON dues_members (organisation_id, member_id)
    INCLUDE (open_from, closed, paid);
