CREATE TABLE members (
    id               uuid PRIMARY KEY,
    full_name        text NOT NULL,
    gender           text,
    birth_date       date NOT NULL,
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    admitted_on      date NOT NULL,
    official_on      date,
    status           text NOT NULL DEFAULT 'probationary',
    card_number      text,
    national_id      text,
    ethnicity        text,
    religion         text,
    hometown         text,
    education_level  text,
    qualification    text,
    political_theory text NOT NULL DEFAULT 'none',
    note             text,
    -- Accent- and case-folded name for search.
    name_search      text GENERATED ALWAYS AS (pb_fold(full_name)) STORED,
    -- The Vietnamese sort key: the given name (last word) first, then the rest ("Nguyễn Văn An" -> "An Nguyễn Văn").
    sort_name        text GENERATED ALWAYS AS
                         (regexp_replace(btrim(full_name), '^(.*\S)\s+(\S+)$', '\2 \1')) STORED,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_card_number_key UNIQUE (card_number),
    CONSTRAINT members_national_id_key UNIQUE (national_id),
    CONSTRAINT members_full_name_length CHECK (char_length(full_name) BETWEEN 1 AND 200),
    CONSTRAINT members_gender_check CHECK (gender IN ('male', 'female')),
    CONSTRAINT members_status_check CHECK (status IN
        ('probationary', 'official', 'exempt', 'transferred_out', 'expelled', 'removed', 'deceased')),
    CONSTRAINT members_political_theory_check CHECK (political_theory IN
        ('none', 'elementary', 'intermediate', 'advanced')),
    CONSTRAINT members_card_number_format CHECK (card_number ~ '^[0-9]{8}$'),
    CONSTRAINT members_national_id_format CHECK (national_id ~ '^[0-9]{12}$'),
    CONSTRAINT members_official_after_admission CHECK (official_on >= admitted_on)
);

CREATE INDEX members_organisation_idx ON members (organisation_id, id);
CREATE INDEX members_status_idx ON members (status, id);
CREATE INDEX members_political_theory_idx ON members (political_theory, id);
CREATE INDEX members_admitted_idx ON members (admitted_on, id);
CREATE INDEX members_sort_name_idx ON members ((sort_name COLLATE "vi-x-icu"), id);
CREATE INDEX members_name_search_idx ON members USING gin (name_search gin_trgm_ops);

-- The history of each member, oldest first: the admission, then every lifecycle event.
CREATE TABLE member_events (
    id                   uuid PRIMARY KEY,
    member_id            uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    type                 text NOT NULL,
    "on"                 date NOT NULL,
    status_before        text,
    status_after         text NOT NULL,
    organisation_id      uuid NOT NULL REFERENCES organisations (id),
    to_organisation_id   uuid REFERENCES organisations (id),
    mode                 text,
    destination          text,
    form                 text,
    note                 text,
    actor                text NOT NULL,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT member_events_type_check CHECK (type IN
        ('admitted', 'recognised_official', 'exempted', 'exemption_ended', 'transferred', 'transferred_out',
         'disciplined', 'expelled', 'removed', 'deceased')),
    CONSTRAINT member_events_mode_check CHECK (mode IN ('permanent', 'temporary')),
    CONSTRAINT member_events_form_check CHECK (form IN ('reprimand', 'warning', 'removal_from_post'))
);

CREATE INDEX member_events_member_idx ON member_events (member_id, "on", id);
CREATE INDEX member_events_organisation_idx ON member_events (organisation_id);
CREATE INDEX member_events_to_organisation_idx ON member_events (to_organisation_id);

-- Members per organisation and status, kept by a trigger so that an organisation's counts cost a few rows,
-- not a scan of the members table.
CREATE TABLE organisation_member_counts (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    status          text NOT NULL,
    members         integer NOT NULL,
    PRIMARY KEY (organisation_id, status)
);

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

CREATE TRIGGER members_count AFTER INSERT OR DELETE OR UPDATE OF status, organisation_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_count_change();
