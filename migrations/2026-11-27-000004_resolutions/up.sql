CREATE TABLE resolutions (
    id                      uuid PRIMARY KEY,
    number                  text NOT NULL,
    title                   text NOT NULL,
    issuing_organisation_id uuid NOT NULL REFERENCES organisations (id),
    issued_on               date NOT NULL,
    field                   text NOT NULL,
    summary                 text,
    status                  text NOT NULL DEFAULT 'in_force',
    valid_until             date,
    -- [{"indicator": text, "target": number, "unit": text}], checked by the service.
    targets                 jsonb NOT NULL DEFAULT '[]',
    search                  text GENERATED ALWAYS AS (pb_fold(number || ' ' || title)) STORED,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT resolutions_issuing_organisation_id_number_key UNIQUE (issuing_organisation_id, number),
    CONSTRAINT resolutions_number_length CHECK (char_length(number) BETWEEN 1 AND 50),
    CONSTRAINT resolutions_title_length CHECK (char_length(title) BETWEEN 1 AND 500),
    CONSTRAINT resolutions_field_check CHECK (field IN
        ('political_ideology', 'member_development', 'inspection_supervision', 'organisation_building',
         'socio_economic', 'defence_security', 'mass_mobilisation', 'other')),
    CONSTRAINT resolutions_status_check CHECK (status IN ('in_force', 'expired', 'superseded')),
    CONSTRAINT resolutions_valid_until_check CHECK (valid_until >= issued_on),
    CONSTRAINT resolutions_targets_array CHECK (jsonb_typeof(targets) = 'array')
);

CREATE INDEX resolutions_issuer_idx ON resolutions (issuing_organisation_id, id);
CREATE INDEX resolutions_field_idx ON resolutions (field, id);
CREATE INDEX resolutions_status_idx ON resolutions (status, id);
CREATE INDEX resolutions_issued_idx ON resolutions (issued_on, id);
CREATE INDEX resolutions_search_idx ON resolutions USING gin (search gin_trgm_ops);

CREATE TABLE resolution_implementations (
    id              uuid PRIMARY KEY,
    resolution_id   uuid NOT NULL REFERENCES resolutions (id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    status          text NOT NULL DEFAULT 'planned',
    plan_adopted_on date,
    reported_on     date,
    report          text,
    -- [{"indicator": text, "achieved": number}], each indicator one of the resolution's targets.
    results         jsonb NOT NULL DEFAULT '[]',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT resolution_implementations_resolution_id_organisation_id_key UNIQUE (resolution_id, organisation_id),
    CONSTRAINT resolution_implementations_status_check CHECK (status IN ('planned', 'in_progress', 'completed')),
    CONSTRAINT resolution_implementations_results_array CHECK (jsonb_typeof(results) = 'array')
);

CREATE INDEX resolution_implementations_organisation_idx ON resolution_implementations (organisation_id);
