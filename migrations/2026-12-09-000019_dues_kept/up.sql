-- The dues report of a province or the country read every member's history and a year of payments (48 million
-- rows for the country) and ran past the statement timeout. What it needs is now kept as the writes happen, in the
-- same transaction:
--
-- 1. `dues_members`, one row per member: the months it is expected to pay for and the months it paid for. A month
--    is expected when the member is probationary or official at the month's end, from the month of its admission.
--    Months are numbered `year * 12 + month - 1`. A member still expected has `open_from`, the first month of that
--    open-ended span; the spans that have ended are in `closed`; `paid` holds the months paid for, by year (its
--    subscripts are years, `paid[2024]`), each element a mask with bit `m - 1` for month `m`.
-- 2. Per organisation: the spans begun (+1) and ended (-1) in each month (`dues_spans`), with the number still open
--    (`dues_open`). The members expected in a month are the open ones less the net of the spans begun after it, so
--    a recent year's figures read the few recent changes rather than every admission since 1930.
-- 3. Per organisation and year: the members who paid for a month they were expected for, and the amounts
--    (`dues_counts`, twelve elements each, January first).
--
-- Everything is counted under the member's current organisation, as the report counts it. The counts are in
-- shards, `pg_backend_pid() % 16`, as the member counts are, so that admissions into one cell do not wait for each
-- other.

CREATE FUNCTION pb_month(d date) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (extract(year FROM d) * 12 + extract(month FROM d) - 1)::integer
$$;

CREATE FUNCTION pb_period_month(period text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(period, 4)::integer * 12 + right(period, 2)::integer - 1
$$;

-- The masks by year of a list of month numbers, as an array whose subscripts are the years (NULL for a year between
-- two others with no month); NULL for no months.
CREATE FUNCTION pb_year_masks(months integer[]) RETURNS integer[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    masks integer[];
    m integer;
BEGIN
    FOREACH m IN ARRAY coalesce(months, '{}') LOOP
        masks[m / 12] := coalesce(masks[m / 12], 0) | (1 << (m % 12));
    END LOOP;
    RETURN masks;
END
$$;

-- Whether month `m` is one a member row expects a payment for.
CREATE FUNCTION pb_dues_expected(open_from integer, closed int4multirange, m integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT m >= open_from OR coalesce(closed @> m, false)
$$;

-- The months of `year` in `closed`, as a mask.
CREATE FUNCTION pb_year_mask(closed int4multirange, year integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(bit_or((1 << (upper(r) - year * 12)) - (1 << (lower(r) - year * 12))), 0)
    FROM unnest(closed * int4multirange(int4range(year * 12, year * 12 + 12))) r
$$;

-- Element-wise sum of two arrays of the same length; NULL counts as zeros.
CREATE FUNCTION pb_array_add(a bigint[], b bigint[]) RETURNS bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b
                WHEN b IS NULL THEN a
                ELSE ARRAY(SELECT x + y FROM unnest(a, b) WITH ORDINALITY u(x, y, i) ORDER BY i) END
$$;

CREATE TABLE dues_members (
    member_id       uuid PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    -- The member's organisation now (the members table holds the reference).
    organisation_id uuid NOT NULL,
    open_from       integer,
    closed          int4multirange,
    paid            integer[]
);
-- Covering: a subtree's members are read from the index alone.
CREATE INDEX dues_members_organisation_idx ON dues_members (organisation_id, member_id)
    INCLUDE (open_from, closed, paid);

CREATE TABLE dues_spans (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    month           integer NOT NULL,
    shard           smallint NOT NULL,
    members         integer NOT NULL,
    PRIMARY KEY (organisation_id, month, shard) INCLUDE (members)
);
CREATE INDEX dues_spans_month_idx ON dues_spans (month, organisation_id) INCLUDE (members);

CREATE TABLE dues_open (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    shard           smallint NOT NULL,
    members         integer NOT NULL,
    PRIMARY KEY (organisation_id, shard) INCLUDE (members)
);

CREATE TABLE dues_counts (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    year            integer NOT NULL,
    shard           smallint NOT NULL,
    paid            bigint[] NOT NULL,
    amount          bigint[] NOT NULL,
    PRIMARY KEY (year, organisation_id, shard) INCLUDE (paid, amount)
);

-- Per member, from its history: the first month of its open span (`open_from`) and its ended spans (`closed`). The
-- history is read in order ("on", then when it was recorded); the days on which the member was probationary or
-- official, from the first day of its admission month, become spans of months: a span of days [f, t) holds the
-- months whose last day falls in it, from f's month to the month before t's.
CREATE VIEW dues_member_spans_source AS
SELECT s.member_id, max(s.a) FILTER (WHERE s.z IS NULL) AS open_from,
       range_agg(int4range(s.a, s.z)) FILTER (WHERE s.z IS NOT NULL) AS closed
FROM (SELECT a.member_id, pb_month(lower(r)) AS a, CASE WHEN upper_inf(r) THEN NULL ELSE pb_month(upper(r)) END AS z
      FROM (SELECT e.member_id, range_agg(daterange(e.since, e.until)) AS active
            FROM (SELECT member_id, status_after, "on" AS since,
                         lead("on") OVER (PARTITION BY member_id ORDER BY "on", recorded_at, id) AS until
                  FROM member_events) e
            WHERE e.status_after IN ('probationary', 'official')
            GROUP BY e.member_id) a
      JOIN members m ON m.id = a.member_id
      CROSS JOIN LATERAL unnest(a.active * datemultirange(daterange(date_trunc('month', m.admitted_on)::date, NULL))) r
     ) s
WHERE s.z IS NULL OR s.z > s.a
GROUP BY s.member_id;

-- Per member, from its payments: the months paid for, by year.
CREATE VIEW dues_member_paid AS
SELECT member_id, pb_year_masks(array_agg(pb_period_month(period))) AS paid FROM dues GROUP BY member_id;

-- What a member row contributes to the spans of its organisation: +1 in the month a span begins, -1 in the month
-- it ends.
CREATE VIEW dues_member_spans AS
SELECT member_id, organisation_id, open_from AS month, 1 AS members FROM dues_members WHERE open_from IS NOT NULL
UNION ALL
SELECT member_id, organisation_id, lower(r), 1 FROM dues_members, unnest(closed) r
UNION ALL
SELECT member_id, organisation_id, upper(r), -1 FROM dues_members, unnest(closed) r;

-- The payments counted: those for a month their payer was expected to pay for, under the payer's organisation.
CREATE VIEW dues_member_payments AS
SELECT dm.member_id, dm.organisation_id, pb_period_month(d.period) AS month, d.amount
FROM dues_members dm
JOIN dues d ON d.member_id = dm.member_id
WHERE pb_dues_expected(dm.open_from, dm.closed, pb_period_month(d.period));

-- Adds payments to the counts: per organisation and month number, the members who paid and the amounts (negative
-- to take away), one entry per organisation and month. Rows are written in key order, so that concurrent writers
-- never wait on each other in a circle.
CREATE FUNCTION dues_counts_add(orgs uuid[], months integer[], paid bigint[], amounts bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dues_counts AS c (organisation_id, year, shard, paid, amount)
    SELECT g.o, g.y, pg_backend_pid() % 16, array_agg(coalesce(x.p, 0) ORDER BY k), array_agg(coalesce(x.a, 0) ORDER BY k)
    FROM (SELECT DISTINCT o, m / 12 AS y FROM unnest(orgs, months) AS u(o, m)) g
    CROSS JOIN generate_series(0, 11) k
    LEFT JOIN unnest(orgs, months, paid, amounts) AS x(o, m, p, a) ON x.o = g.o AND x.m = g.y * 12 + k
    GROUP BY g.y, g.o
    ORDER BY g.y, g.o
    ON CONFLICT (year, organisation_id, shard) DO UPDATE
        SET paid = pb_array_add(c.paid, EXCLUDED.paid), amount = pb_array_add(c.amount, EXCLUDED.amount);
END
$$;

-- Adds what the members' rows of `dues_members` contribute (`direction` 1), or takes it away (-1): their spans,
-- and their payments for months they were expected to pay for.
CREATE FUNCTION dues_contribute(ids uuid[], direction integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dues_spans AS c (organisation_id, month, shard, members)
    SELECT organisation_id, month, pg_backend_pid() % 16, direction * sum(members)
    FROM dues_member_spans WHERE member_id = ANY (ids)
    GROUP BY organisation_id, month
    ORDER BY organisation_id, month
    ON CONFLICT (organisation_id, month, shard) DO UPDATE SET members = c.members + EXCLUDED.members;

    INSERT INTO dues_open AS c (organisation_id, shard, members)
    SELECT organisation_id, pg_backend_pid() % 16, direction * count(*)
    FROM dues_members WHERE member_id = ANY (ids) AND open_from IS NOT NULL
    GROUP BY organisation_id
    ORDER BY organisation_id
    ON CONFLICT (organisation_id, shard) DO UPDATE SET members = c.members + EXCLUDED.members;

    PERFORM dues_counts_add(array_agg(o), array_agg(m), array_agg(p), array_agg(a))
    FROM (SELECT organisation_id AS o, month AS m, direction * count(*) AS p, (direction * sum(amount))::bigint AS a
          FROM dues_member_payments WHERE member_id = ANY (ids)
          GROUP BY organisation_id, month) x
    HAVING count(*) > 0;
END
$$;

-- Counts the members' rows again from their history and payments: what the old rows contributed is taken away,
-- what the new ones contribute is added. The rows are locked first (in key order, as payments lock them), so that
-- a payment committed meanwhile is either in what is taken away or waits and is counted by the new rows; each
-- statement after the lock sees what was committed before it.
CREATE FUNCTION dues_members_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
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

-- Every kept figure again, from the members' histories and payments (for a registry loaded with the triggers
-- off). With every member's id at once the statements above are planned for the whole tables.
CREATE FUNCTION dues_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dues_counts, dues_spans, dues_open, dues_members;
    PERFORM dues_members_refresh(array_agg(id)) FROM members HAVING count(*) > 0;
END
$$;

-- The trigger functions below keep their statements' plans: with `ids` an array parameter PostgreSQL would
-- otherwise plan each statement again at every call (custom plans), which took admissions from 2,040 to 630 a
-- second (member and history entry alone, 16 connections into one cell); generic plans bring them to about 1,300.
-- `dues_rebuild()`, called directly with every member, keeps the default and is planned for whole tables.

-- A change to a member's history: the members it touches are counted again.
CREATE FUNCTION member_events_dues() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
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
CREATE TRIGGER member_events_dues_insert AFTER INSERT ON member_events REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION member_events_dues();
CREATE TRIGGER member_events_dues_update AFTER UPDATE ON member_events
    REFERENCING OLD TABLE AS removed NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_events_dues();
CREATE TRIGGER member_events_dues_delete AFTER DELETE ON member_events REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION member_events_dues();

-- A member moved to another organisation, or its admission redated: counted again.
CREATE FUNCTION members_dues_update() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM dues_members_refresh(array_agg(n.id))
       FROM updated n JOIN previous p ON p.id = n.id
      WHERE (n.organisation_id, n.admitted_on) IS DISTINCT FROM (p.organisation_id, p.admitted_on)
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER members_dues_update AFTER UPDATE ON members REFERENCING OLD TABLE AS previous NEW TABLE AS updated
    FOR EACH STATEMENT EXECUTE FUNCTION members_dues_update();

-- A member deleted: what it contributed is taken away before its row goes with it (the row locked first, as a
-- refresh locks it, so that a payment deleted meanwhile is not taken away twice).
CREATE FUNCTION members_dues_delete() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM 1 FROM dues_members WHERE member_id = OLD.id FOR UPDATE;
    PERFORM dues_contribute(ARRAY[OLD.id], -1);
    DELETE FROM dues_members WHERE member_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER members_dues_delete BEFORE DELETE ON members FOR EACH ROW EXECUTE FUNCTION members_dues_delete();

-- Payments given (negative amounts, `payers` -1, to take them away; `payers` 0 for changed amounts): counted for
-- the months their payers were expected to pay for; the payers' `paid` masks are read again. The payers' rows are
-- locked first, so that a refresh of the same members or another payment for them waits, and the statements
-- below see what those committed.
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
