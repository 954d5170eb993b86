-- Restores the notification at commit.
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
    -- Delivered at commit only, and once per transaction however many rows it changed.
    PERFORM pg_notify('partybase_changes', '');
    RETURN NULL;
END
