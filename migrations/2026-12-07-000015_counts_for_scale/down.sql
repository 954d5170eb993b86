DROP TRIGGER meeting_attendance_count_insert ON meeting_attendance;
DROP TRIGGER meeting_attendance_count_update ON meeting_attendance;
DROP TRIGGER meeting_attendance_count_delete ON meeting_attendance;
DROP FUNCTION meeting_attendance_count();
DROP INDEX meeting_attendance_unexcused_idx;
DROP INDEX meetings_organisation_idx;
CREATE INDEX meetings_organisation_idx ON meetings (organisation_id, held_on);
ALTER TABLE meetings DROP COLUMN expected, DROP COLUMN present, DROP COLUMN unexcused;

DROP TRIGGER member_evaluations_count_insert ON member_evaluations;
DROP TRIGGER member_evaluations_count_delete ON member_evaluations;
DROP TRIGGER member_evaluations_count_update ON member_evaluations;
DROP FUNCTION member_evaluations_count_insert();
DROP FUNCTION member_evaluations_count_delete();
DROP FUNCTION member_evaluations_count_update();
DROP FUNCTION member_evaluation_counts_add(uuid[], integer[], text[], integer[]);
DROP TABLE member_evaluation_counts;

DROP TRIGGER members_count_delete ON members;
DROP TRIGGER members_count_update ON members;
DROP FUNCTION members_count_delete();
DROP FUNCTION members_count_update();

CREATE FUNCTION members_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE organisation_member_counts SET members = members - 1
         WHERE organisation_id = OLD.organisation_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO organisation_member_counts (organisation_id, status, members)
        VALUES (NEW.organisation_id, NEW.status, 1)
        ON CONFLICT (organisation_id, status) DO UPDATE SET members = organisation_member_counts.members + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION members_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO organisation_member_counts (organisation_id, status, members)
    SELECT organisation_id, status, count(*) FROM inserted GROUP BY organisation_id, status
    ON CONFLICT (organisation_id, status) DO UPDATE SET members = organisation_member_counts.members + EXCLUDED.members;
    RETURN NULL;
END;
$$;
DROP FUNCTION organisation_member_counts_add(uuid[], text[], text[], integer[]);

CREATE TEMP TABLE member_counts_folded AS
SELECT organisation_id, status, sum(members)::integer AS members FROM organisation_member_counts GROUP BY 1, 2;
DELETE FROM organisation_member_counts;
ALTER TABLE organisation_member_counts DROP CONSTRAINT organisation_member_counts_pkey,
    DROP COLUMN shard, DROP COLUMN theory_none, DROP COLUMN theory_elementary, DROP COLUMN theory_intermediate,
    DROP COLUMN theory_advanced, ADD PRIMARY KEY (organisation_id, status);
INSERT INTO organisation_member_counts SELECT * FROM member_counts_folded;
DROP TABLE member_counts_folded;

CREATE TRIGGER members_count AFTER DELETE OR UPDATE OF status, organisation_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_count_change();
