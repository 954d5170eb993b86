-- Each bulk import (`POST /api/v1/imports/...`, `partybase import ...`): who ran it, in which request, and what it
-- brought in. The audit records of the rows it created name it, as those of a reorganisation name that.
CREATE TABLE imports (
    id            uuid PRIMARY KEY,
    resource_type text NOT NULL,
    actor         text NOT NULL,
    request_id    text NOT NULL,
    rows          integer NOT NULL DEFAULT 0,
    imported      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT imports_resource_type_check CHECK (resource_type IN ('member', 'organisation')),
    CONSTRAINT imports_counts_check CHECK (rows >= 0 AND imported BETWEEN 0 AND rows)
);

-- The transaction of an import sets `partybase.import_id`, and every audit record it inserts takes it by default.
ALTER TABLE audit_events ADD COLUMN import_id uuid REFERENCES imports (id)
    DEFAULT nullif(current_setting('partybase.import_id', true), '')::uuid;
CREATE INDEX audit_events_import_idx ON audit_events (import_id, id) WHERE import_id IS NOT NULL;

-- Member counts follow a multi-row insert with one statement per insert rather than one per row: an import of
-- 100,000 members into one cell would otherwise update the same count row 100,000 times in one transaction.
DROP TRIGGER members_count ON members;
CREATE TRIGGER members_count AFTER DELETE OR UPDATE OF status, organisation_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_count_change();

CREATE FUNCTION members_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO organisation_member_counts (organisation_id, status, members)
    SELECT organisation_id, status, count(*) FROM inserted GROUP BY organisation_id, status
    ON CONFLICT (organisation_id, status) DO UPDATE SET members = organisation_member_counts.members + EXCLUDED.members;
    RETURN NULL;
END;
$$;
CREATE TRIGGER members_count_insert AFTER INSERT ON members REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION members_count_insert();
