-- Admission candidates: the road from a cell's proposal to the admission ceremony (domain.md, "Admission").
CREATE TABLE candidates (
    id               uuid PRIMARY KEY,
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    full_name        text NOT NULL,
    gender           text,
    birth_date       date NOT NULL,
    national_id      text,
    ethnicity        text,
    religion         text,
    hometown         text,
    note             text,
    proposed_on      date NOT NULL,
    stage            text NOT NULL DEFAULT 'proposed',
    -- The day of the latest step (the proposal until there is one).
    stage_on         date NOT NULL,
    -- The last working day for the next step, while the next step has a time limit.
    due_by           date,
    member_id        uuid UNIQUE REFERENCES members (id),
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT candidates_full_name_length CHECK (char_length(full_name) BETWEEN 1 AND 200),
    CONSTRAINT candidates_gender_check CHECK (gender IN ('male', 'female')),
    CONSTRAINT candidates_national_id_format CHECK (national_id ~ '^[0-9]{12}$'),
    CONSTRAINT candidates_stage_check CHECK (stage IN ('proposed', 'course_completed', 'sponsored', 'cell_approved',
        'committee_approved', 'admitted', 'withdrawn', 'rejected')),
    CONSTRAINT candidates_member_when_admitted CHECK ((stage = 'admitted') = (member_id IS NOT NULL)),
    CONSTRAINT candidates_stage_after_proposal CHECK (stage_on >= proposed_on)
);

CREATE INDEX candidates_organisation_idx ON candidates (organisation_id, id);
CREATE INDEX candidates_stage_idx ON candidates (stage, id);

-- Each step of a candidate, oldest first; what a step records depends on its type.
CREATE TABLE candidate_steps (
    id                 uuid PRIMARY KEY,
    candidate_id       uuid NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    type               text NOT NULL,
    "on"               date NOT NULL,
    certificate_number text,
    sponsors           jsonb,
    votes_for          integer,
    votes_total        integer,
    decision_number    text,
    member_id          uuid REFERENCES members (id),
    reason             text,
    note               text,
    -- The last working day for the next step, when this step starts a time limit.
    due_by             date,
    actor              text NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT candidate_steps_type_check CHECK (type IN ('course_completed', 'sponsored', 'cell_approved',
        'committee_approved', 'admitted', 'withdrawn', 'rejected')),
    CONSTRAINT candidate_steps_votes CHECK (votes_for BETWEEN 0 AND votes_total)
);

CREATE INDEX candidate_steps_candidate_idx ON candidate_steps (candidate_id, "on", recorded_at);

-- The member an admitted candidate became, and back.
ALTER TABLE members ADD COLUMN candidate_id uuid UNIQUE REFERENCES candidates (id);

CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON candidates
    FOR EACH ROW EXECUTE FUNCTION changes_record('candidate');
CREATE TRIGGER changes_record_update AFTER UPDATE ON candidates
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('candidate');
