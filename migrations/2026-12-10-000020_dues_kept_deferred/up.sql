-- Migration 000019 counted a member again inside every write to its history, placement or payments: about six
-- more statements per admission, which took a quarter to a third off admissions, and writers of the same shard of
-- the kept counts could deadlock. The writes now only note which members changed, in `dues_stale`; the kept figures
-- catch up on them in batches (`dues_catch_up`), which the service's background work calls every second and the dues
-- report calls before reading, so that a report still counts every write committed before it.
--
-- The kept figures stay the sum of the rows of `dues_members` at all times: a member's row may lag behind its
-- history only while its id is in `dues_stale`. Only the catching up (and `dues_rebuild`) writes the kept figures,
-- one at a time (an advisory lock), so they no longer wait on each other in a circle.

-- The members whose kept figures may lag behind their history, placement or payments. A member may be noted more
-- than once; its id stays when the member is deleted, so that what it contributed is taken away.
CREATE TABLE dues_stale (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id uuid NOT NULL
);

-- What a member row contributes must follow from the row alone: the catching up takes away what the old row
-- contributed, after the payments may have changed. The row therefore keeps the amounts it counted, by month
-- number (the array's subscripts; NULL for a month not paid for), and the payments counted are read from it.
ALTER TABLE dues_members ADD COLUMN amounts bigint[];

CREATE FUNCTION pb_month_amounts(months integer[], amounts bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    kept bigint[];
BEGIN
    FOR i IN 1 .. coalesce(cardinality(months), 0) LOOP
        kept[months[i]] := amounts[i];
    END LOOP;
    RETURN kept;
END
$$;

CREATE OR REPLACE VIEW dues_member_paid AS
SELECT member_id, pb_year_masks(array_agg(pb_period_month(period))) AS paid,
       pb_month_amounts(array_agg(pb_period_month(period)), array_agg(amount)) AS amounts
FROM dues GROUP BY member_id;

DROP VIEW dues_member_payments;
CREATE VIEW dues_member_payments AS
SELECT dm.member_id, dm.organisation_id, m AS month, dm.amounts[m] AS amount
FROM dues_members dm
CROSS JOIN LATERAL generate_subscripts(dm.amounts, 1) AS m
WHERE dm.amounts[m] IS NOT NULL AND pb_dues_expected(dm.open_from, dm.closed, m);

-- A deleted member's row is taken away by the catching up, after what it contributed.
ALTER TABLE dues_members DROP CONSTRAINT dues_members_member_id_fkey;
DROP TRIGGER members_dues_delete ON members;
DROP FUNCTION members_dues_delete();

-- Counts the members' rows again from their history and payments: what the old rows contributed is taken away, a
-- member that no longer exists loses its row, and what the new rows contribute is added. The caller holds
-- `dues_lock()`, so no other transaction changes these rows meanwhile.
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

-- The lock that lets one transaction at a time write the kept figures.
CREATE FUNCTION dues_lock() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(7064756573)
$$;

-- Brings up to date the kept figures of the members noted in `dues_stale` up to note `upto`, at most `batch` notes
-- (oldest first), and returns how many notes it took. Called until it takes less than `batch`, with `upto` the last
-- note seen, it has counted every write committed before.
CREATE FUNCTION dues_catch_up(upto bigint, batch integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    taken integer;
    ids uuid[];
BEGIN
    PERFORM dues_lock();
    WITH noted AS (
        DELETE FROM dues_stale
         WHERE id = ANY (ARRAY(SELECT id FROM dues_stale WHERE id <= upto ORDER BY id LIMIT batch))
        RETURNING member_id
    )
    SELECT count(*), array_agg(DISTINCT member_id) INTO taken, ids FROM noted;
    IF taken > 0 THEN
        PERFORM dues_members_refresh(ids);
    END IF;
    RETURN taken;
END
$$;

CREATE OR REPLACE FUNCTION dues_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dues_lock();
    TRUNCATE dues_counts, dues_spans, dues_open, dues_members, dues_stale;
    PERFORM dues_members_refresh(array_agg(id)) FROM members HAVING count(*) > 0;
END
$$;

-- The writes note their members.
CREATE OR REPLACE FUNCTION member_events_dues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dues_stale (member_id) SELECT DISTINCT member_id FROM changed;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO dues_stale (member_id) SELECT DISTINCT member_id FROM removed;
    ELSE
        INSERT INTO dues_stale (member_id) SELECT member_id FROM changed UNION SELECT member_id FROM removed;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION members_dues_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dues_stale (member_id)
    SELECT n.id FROM updated n JOIN previous p ON p.id = n.id
     WHERE (n.organisation_id, n.admitted_on) IS DISTINCT FROM (p.organisation_id, p.admitted_on);
    RETURN NULL;
END
$$;

CREATE FUNCTION members_dues_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dues_stale (member_id) SELECT id FROM removed;
    RETURN NULL;
END
$$;
CREATE TRIGGER members_dues_delete AFTER DELETE ON members REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION members_dues_delete();

-- A payment recorded, corrected or deleted: its member's row is counted again (the member's payments are few).
CREATE FUNCTION dues_payments_noted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO dues_stale (member_id) SELECT DISTINCT member_id FROM removed;
    ELSE
        INSERT INTO dues_stale (member_id) SELECT DISTINCT member_id FROM changed;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER dues_count_insert ON dues;
DROP TRIGGER dues_count_update ON dues;
DROP TRIGGER dues_count_delete ON dues;
DROP FUNCTION dues_insert_count();
DROP FUNCTION dues_update_count();
DROP FUNCTION dues_delete_count();
DROP FUNCTION dues_payments_add(uuid[], text[], bigint[], integer);
CREATE TRIGGER dues_noted_insert AFTER INSERT ON dues REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION dues_payments_noted();
CREATE TRIGGER dues_noted_update AFTER UPDATE ON dues REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION dues_payments_noted();
CREATE TRIGGER dues_noted_delete AFTER DELETE ON dues REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION dues_payments_noted();

-- A dues report dated inside a month takes that month on its date: the kept figures at the month's end, corrected
-- for the members with a history entry dated between the two days that changed their status (a transfer or a
-- discipline does not), found by this index alone.
CREATE INDEX member_events_on_idx ON member_events ("on") INCLUDE (member_id, status_before, status_after);

-- The rows' amounts, and every figure with them.
SELECT dues_rebuild();
