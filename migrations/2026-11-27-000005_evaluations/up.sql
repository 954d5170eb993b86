CREATE TABLE evaluations (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    year            integer NOT NULL,
    grade           text NOT NULL,
    exemplary       boolean NOT NULL DEFAULT false,
    score           integer,
    decided_on      date,
    note            text,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT evaluations_organisation_id_year_key UNIQUE (organisation_id, year),
    CONSTRAINT evaluations_year_check CHECK (year BETWEEN 1930 AND 2200),
    CONSTRAINT evaluations_score_check CHECK (score BETWEEN 0 AND 100),
    CONSTRAINT evaluations_exemplary_check CHECK (NOT exemplary OR grade = 'clean_strong')
);

CREATE INDEX evaluations_year_idx ON evaluations (year, organisation_id);
CREATE INDEX evaluations_grade_idx ON evaluations (grade, id);

CREATE TABLE member_evaluations (
    id              uuid PRIMARY KEY,
    member_id       uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    -- The member's organisation when evaluated, so that the year's figures stay with it after a transfer.
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    year            integer NOT NULL,
    grade           text NOT NULL,
    score           integer,
    decided_on      date,
    note            text,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT member_evaluations_member_id_year_key UNIQUE (member_id, year),
    CONSTRAINT member_evaluations_year_check CHECK (year BETWEEN 1930 AND 2200),
    CONSTRAINT member_evaluations_score_check CHECK (score BETWEEN 0 AND 100)
);

CREATE INDEX member_evaluations_year_idx ON member_evaluations (year, organisation_id);
CREATE INDEX member_evaluations_organisation_idx ON member_evaluations (organisation_id, id);
CREATE INDEX member_evaluations_grade_idx ON member_evaluations (grade, id);

-- The admissions report counts admission entries by date.
CREATE INDEX member_events_admissions_idx ON member_events ("on", organisation_id) WHERE type = 'admitted';
-- The political theory report counts current members by level.
CREATE INDEX members_current_theory_idx ON members (organisation_id, political_theory)
    WHERE status IN ('probationary', 'official', 'exempt');
