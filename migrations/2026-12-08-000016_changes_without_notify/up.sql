-- The change feed's trigger no longer notifies at commit: `pg_notify` takes PostgreSQL's one notification lock in
-- every writer's commit, which held admissions at two thirds of their rate. The service wakes its feed after its
-- own writes and looks for entries other processes committed a few times a second (src/background.rs).

-- One entry for the row the trigger fires on. TG_ARGV[0] is the resource type. The action is `reorganised` for a
-- change a reorganisation makes to an existing row (`partybase.reorganisation_id` set), `event` when the
-- transaction marked it as a member's lifecycle event (`partybase.change_action`), else what the statement did.
CREATE OR REPLACE FUNCTION changes_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    action text;
    subject record;
    organisation uuid;
    former uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        subject := OLD;
        action := 'deleted';
    ELSE
        subject := NEW;
        action := CASE
            WHEN TG_OP = 'INSERT' THEN 'created'
            WHEN coalesce(current_setting('partybase.change_action', true), '') <> ''
                THEN current_setting('partybase.change_action', true)
            WHEN coalesce(current_setting('partybase.reorganisation_id', true), '') <> '' THEN 'reorganised'
            ELSE 'updated'
        END;
    END IF;
    CASE TG_TABLE_NAME
        WHEN 'organisations' THEN
            organisation := subject.id;
            IF TG_OP = 'UPDATE' THEN
                IF OLD.parent_id IS DISTINCT FROM NEW.parent_id THEN
                    former := OLD.parent_id;
                END IF;
            END IF;
        WHEN 'members' THEN
            organisation := subject.organisation_id;
            IF TG_OP = 'UPDATE' THEN
                IF OLD.organisation_id IS DISTINCT FROM NEW.organisation_id THEN
                    former := OLD.organisation_id;
                END IF;
            END IF;
        WHEN 'resolutions' THEN
            organisation := subject.issuing_organisation_id;
        WHEN 'reorganisations' THEN
            organisation := NULL;
        ELSE
            organisation := subject.organisation_id;
    END CASE;
    INSERT INTO changes (resource_type, resource_id, action, version, organisation_id, former_organisation_id)
    VALUES (TG_ARGV[0], subject.id, action, subject.version, organisation, former);
    RETURN NULL;
END
$$;
