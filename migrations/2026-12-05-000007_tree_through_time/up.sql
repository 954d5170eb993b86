-- The tree through time: reorganisations, the dated versions of every organisation's place and identity, the
-- links from ended organisations to their successors, and the reorganisation behind an audit record or a
-- member's transfer.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A time-ordered UUID (version 7: milliseconds since 1970, then random bits), as the service makes them, for
-- the rows that set-based statements insert.
CREATE FUNCTION pb_uuid_v7() RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    random bytea := uuid_send(gen_random_uuid());
    stamp bytea := substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3);
    raw bytea := stamp || substring(random FROM 7);
BEGIN
    -- Byte 6 carries the version (7) in its high half; byte 8 keeps the variant bits of the random UUID.
    RETURN encode(set_byte(raw, 6, (get_byte(raw, 6) & 15) | 112), 'hex')::uuid;
END
$$;

-- A superior committee's dated decision that reshaped the tree in one step. `operations` is the decision as it
-- was applied, with every client label resolved to an id.
CREATE TABLE reorganisations (
    id                  uuid PRIMARY KEY,
    decision_number     text NOT NULL,
    decided_on          date NOT NULL,
    effective_on        date NOT NULL,
    note                text,
    operations          jsonb NOT NULL,
    created             integer NOT NULL,
    moved               integer NOT NULL,
    ended               integer NOT NULL,
    members_transferred integer NOT NULL,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reorganisations_decision_number_length CHECK (char_length(decision_number) BETWEEN 1 AND 64),
    CONSTRAINT reorganisations_dates_check CHECK (effective_on >= decided_on)
);
CREATE INDEX reorganisations_effective_idx ON reorganisations (effective_on, id);

-- Every organisation a reorganisation names, so that a list can find the decisions about a subtree and a scoped
-- reader sees only decisions about its own subtree.
CREATE TABLE reorganisation_organisations (
    reorganisation_id uuid NOT NULL REFERENCES reorganisations (id),
    organisation_id   uuid NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (reorganisation_id, organisation_id)
);
CREATE INDEX reorganisation_organisations_organisation_idx ON reorganisation_organisations (organisation_id);

-- Where an organisation sat (its parent and its path of ids), what it was called and what kind it was, over a
-- range of days. The versions of one organisation never overlap, and the current one runs to infinity. The first
-- version starts at minus infinity: whether the organisation existed on a day is told by its established_on and
-- dissolved_on, not by its versions.
CREATE TABLE organisation_versions (
    organisation_id   uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    valid_during      daterange NOT NULL,
    parent_id         uuid,
    name              text NOT NULL,
    kind              text NOT NULL,
    path              ltree NOT NULL,
    reorganisation_id uuid REFERENCES reorganisations (id),
    PRIMARY KEY (organisation_id, valid_during),
    CONSTRAINT organisation_versions_not_empty CHECK (NOT isempty(valid_during)),
    CONSTRAINT organisation_versions_no_overlap EXCLUDE USING gist (organisation_id WITH =, valid_during WITH &&)
);
-- The subtree of an organisation as of a day: the path and the day in one index.
CREATE INDEX organisation_versions_tree_idx ON organisation_versions USING gist (path, valid_during);
CREATE INDEX organisation_versions_reorganisation_idx ON organisation_versions (reorganisation_id)
    WHERE reorganisation_id IS NOT NULL;

INSERT INTO organisation_versions (organisation_id, valid_during, parent_id, name, kind, path)
SELECT id, daterange(NULL, NULL), parent_id, name, kind, path FROM organisations;

-- Keeps the versions on every write of an organisation, whichever path it takes. A change takes effect on the
-- day in the transaction's `partybase.valid_from` setting (a reorganisation's effective day), or today in
-- Vietnam; `partybase.reorganisation_id` names the reorganisation that made it. A second change on the day a
-- version starts rewrites that version; a change dated before the current version's start is refused (the
-- service checks this first and names the field).
CREATE FUNCTION organisation_versions_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    since date := coalesce(nullif(current_setting('partybase.valid_from', true), '')::date,
                           (now() AT TIME ZONE 'UTC' + interval '7 hours')::date);
    decision uuid := nullif(current_setting('partybase.reorganisation_id', true), '')::uuid;
    current_range daterange;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO organisation_versions (organisation_id, valid_during, parent_id, name, kind, path, reorganisation_id)
        VALUES (NEW.id, daterange(NULL, NULL), NEW.parent_id, NEW.name, NEW.kind, NEW.path, decision);
        RETURN NULL;
    END IF;
    SELECT valid_during INTO current_range FROM organisation_versions
     WHERE organisation_id = NEW.id AND upper_inf(valid_during) FOR UPDATE;
    IF lower(current_range) = since THEN
        UPDATE organisation_versions
           SET parent_id = NEW.parent_id, name = NEW.name, kind = NEW.kind, path = NEW.path,
               reorganisation_id = decision
         WHERE organisation_id = NEW.id AND valid_during = current_range;
    ELSIF lower(current_range) > since THEN
        RAISE EXCEPTION 'organisation % has a version from %, after %', NEW.id, lower(current_range), since
            USING ERRCODE = 'check_violation';
    ELSE
        UPDATE organisation_versions SET valid_during = daterange(lower(current_range), since)
         WHERE organisation_id = NEW.id AND valid_during = current_range;
        INSERT INTO organisation_versions (organisation_id, valid_during, parent_id, name, kind, path, reorganisation_id)
        VALUES (NEW.id, daterange(since, NULL), NEW.parent_id, NEW.name, NEW.kind, NEW.path, decision);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER organisations_versions_insert AFTER INSERT ON organisations
    FOR EACH ROW EXECUTE FUNCTION organisation_versions_keep();
CREATE TRIGGER organisations_versions_update AFTER UPDATE OF parent_id, name, kind, path ON organisations
    FOR EACH ROW
    WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION organisation_versions_keep();

-- Ended organisations and those that carry on their work.
CREATE TABLE organisation_successions (
    organisation_id   uuid NOT NULL REFERENCES organisations (id),
    successor_id      uuid NOT NULL REFERENCES organisations (id),
    reorganisation_id uuid NOT NULL REFERENCES reorganisations (id),
    PRIMARY KEY (organisation_id, successor_id),
    CONSTRAINT organisation_successions_not_itself CHECK (organisation_id <> successor_id)
);
CREATE INDEX organisation_successions_successor_idx ON organisation_successions (successor_id, organisation_id);

-- The audit records and member history entries a reorganisation writes name it: the transaction of a
-- reorganisation sets `partybase.reorganisation_id`, and every row it inserts takes it by default.
ALTER TABLE audit_events ADD COLUMN reorganisation_id uuid REFERENCES reorganisations (id)
    DEFAULT nullif(current_setting('partybase.reorganisation_id', true), '')::uuid;
CREATE INDEX audit_events_reorganisation_idx ON audit_events (reorganisation_id, id) WHERE reorganisation_id IS NOT NULL;
ALTER TABLE member_events ADD COLUMN reorganisation_id uuid REFERENCES reorganisations (id)
    DEFAULT nullif(current_setting('partybase.reorganisation_id', true), '')::uuid;
