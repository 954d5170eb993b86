-- Back to counting inside every write (migration 000019), then everything counted again.
DROP INDEX member_events_on_idx;
DROP TRIGGER dues_noted_insert ON dues;
DROP TRIGGER dues_noted_update ON dues;
DROP TRIGGER dues_noted_delete ON dues;
DROP FUNCTION dues_payments_noted();
DROP TRIGGER members_dues_delete ON members;
DROP FUNCTION members_dues_delete();
DROP FUNCTION dues_catch_up(bigint, integer);
DROP FUNCTION dues_lock();
DROP TABLE dues_stale;
DELETE FROM dues_members dm WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = dm.member_id);
DROP VIEW dues_member_payments;
CREATE VIEW dues_member_payments AS
SELECT dm.member_id, dm.organisation_id, pb_period_month(d.period) AS month, d.amount
FROM dues_members dm
JOIN dues d ON d.member_id = dm.member_id
WHERE pb_dues_expected(dm.open_from, dm.closed, pb_period_month(d.period));
DROP VIEW dues_member_paid;
CREATE VIEW dues_member_paid AS
SELECT member_id, pb_year_masks(array_agg(pb_period_month(period))) AS paid FROM dues GROUP BY member_id;
DROP FUNCTION pb_month_amounts(integer[], bigint[]);
ALTER TABLE dues_members DROP COLUMN amounts;
ALTER TABLE dues_members ADD CONSTRAINT dues_members_member_id_fkey
    FOREIGN KEY (member_id) REFERENCES members (id) ON DELETE CASCADE;

CREATE OR REPLACE FUNCTION dues_members_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM dues_members WHERE member_id = ANY (ids) ORDER BY member_id FOR UPDATE;
    -- An admission has no row yet: nothing to take away.
    IF FOUND THEN
        PERFORM dues_contribute(ids, -1);
    END IF;
    -- Changed in place, not deleted and inserted: a payment waiting for the old row's lock then finds it.
    INSERT INTO dues_members (member_id, organisation_id, open_from, closed, paid)
    SELECT m.id, m.organisation_id, sp.open_from, sp.closed, pd.paid
    FROM members m
    LEFT JOIN (SELECT * FROM dues_member_spans_source WHERE member_id = ANY (ids)) sp ON sp.member_id = m.id
    LEFT JOIN (SELECT * FROM dues_member_paid WHERE member_id = ANY (ids)) pd ON pd.member_id = m.id
    WHERE m.id = ANY (ids)
    ON CONFLICT (member_id) DO UPDATE
        SET organisation_id = EXCLUDED.organisation_id, open_from = EXCLUDED.open_from, closed = EXCLUDED.closed,
            paid = EXCLUDED.paid;
    PERFORM dues_contribute(ids, 1);
END
$$;

CREATE OR REPLACE FUNCTION dues_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dues_counts, dues_spans, dues_open, dues_members;
    PERFORM dues_members_refresh(array_agg(id)) FROM members HAVING count(*) > 0;
END
$$;

CREATE OR REPLACE FUNCTION member_events_dues() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dues_members_refresh(array_agg(DISTINCT member_id)) FROM changed HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM dues_members_refresh(array_agg(DISTINCT member_id)) FROM removed HAVING count(*) > 0;
    ELSE
        PERFORM dues_members_refresh(array_agg(DISTINCT member_id))
           FROM (SELECT member_id FROM changed UNION SELECT member_id FROM removed) touched HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION members_dues_update() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM dues_members_refresh(array_agg(n.id))
       FROM updated n JOIN previous p ON p.id = n.id
      WHERE (n.organisation_id, n.admitted_on) IS DISTINCT FROM (p.organisation_id, p.admitted_on)
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE FUNCTION members_dues_delete() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM 1 FROM dues_members WHERE member_id = OLD.id FOR UPDATE;
    PERFORM dues_contribute(ARRAY[OLD.id], -1);
    DELETE FROM dues_members WHERE member_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER members_dues_delete BEFORE DELETE ON members FOR EACH ROW EXECUTE FUNCTION members_dues_delete();

CREATE FUNCTION dues_payments_add(payers_ids uuid[], periods text[], amounts bigint[], payers integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM dues_members WHERE member_id = ANY (payers_ids) ORDER BY member_id FOR UPDATE;
    PERFORM dues_counts_add(array_agg(o), array_agg(m), array_agg(p), array_agg(a))
    FROM (SELECT dm.organisation_id AS o, pb_period_month(x.period) AS m, payers * count(*) AS p, sum(x.amount)::bigint AS a
            FROM unnest(payers_ids, periods, amounts) AS x(member_id, period, amount)
            JOIN dues_members dm ON dm.member_id = x.member_id
           WHERE pb_dues_expected(dm.open_from, dm.closed, pb_period_month(x.period))
           GROUP BY 1, 2) x
    HAVING count(*) > 0;
    IF payers <> 0 THEN
        UPDATE dues_members dm SET paid = (SELECT pd.paid FROM dues_member_paid pd WHERE pd.member_id = dm.member_id)
         WHERE dm.member_id = ANY (payers_ids);
    END IF;
END
$$;

CREATE FUNCTION dues_insert_count() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM dues_payments_add(array_agg(member_id), array_agg(period), array_agg(amount), 1)
       FROM changed HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION dues_delete_count() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM dues_payments_add(array_agg(member_id), array_agg(period), array_agg(-amount), -1)
       FROM removed HAVING count(*) > 0;
    RETURN NULL;
END
$$;

-- Only the amount of a payment can change (its member and month cannot).
CREATE FUNCTION dues_update_count() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM dues_payments_add(array_agg(n.member_id), array_agg(n.period), array_agg(n.amount - p.amount), 0)
       FROM changed n JOIN removed p ON p.id = n.id
      WHERE n.amount <> p.amount
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER dues_count_insert AFTER INSERT ON dues REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION dues_insert_count();
CREATE TRIGGER dues_count_update AFTER UPDATE ON dues REFERENCING OLD TABLE AS removed NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION dues_update_count();
CREATE TRIGGER dues_count_delete AFTER DELETE ON dues REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION dues_delete_count();

SELECT dues_rebuild();
