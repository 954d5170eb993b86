CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Accent- and case-folded text for search. unaccent() itself is only STABLE (it reads its dictionary at run
-- time); naming the dictionary explicitly makes the result fixed, so the wrapper may be IMMUTABLE and back
-- generated columns and indexes.
CREATE FUNCTION pb_fold(input text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, input));

CREATE TABLE organisations (
    id             uuid PRIMARY KEY,
    code           text NOT NULL,
    name           text NOT NULL,
    kind           text NOT NULL,
    sector         text,
    parent_id      uuid REFERENCES organisations (id),
    -- Materialised path of ids (dashes removed), root first, the organisation itself last.
    path           ltree NOT NULL,
    established_on date,
    dissolved_on   date,
    address        text,
    note           text,
    search         text GENERATED ALWAYS AS (pb_fold(code || ' ' || name)) STORED,
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisations_code_key UNIQUE (code),
    CONSTRAINT organisations_code_length CHECK (char_length(code) BETWEEN 1 AND 32),
    CONSTRAINT organisations_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT organisations_kind_check CHECK (kind IN
        ('superior_committee', 'base_committee', 'base_cell', 'partial_committee', 'cell')),
    CONSTRAINT organisations_sector_check CHECK (sector IN
        ('commune', 'ward', 'township', 'administrative_agency', 'public_service_unit', 'enterprise',
         'armed_forces', 'other')),
    CONSTRAINT organisations_dates_check CHECK (dissolved_on >= established_on),
    CONSTRAINT organisations_not_own_parent CHECK (parent_id <> id)
);

CREATE INDEX organisations_path_idx ON organisations USING gist (path);
CREATE INDEX organisations_parent_idx ON organisations (parent_id, id);
CREATE INDEX organisations_kind_idx ON organisations (kind, id);
CREATE INDEX organisations_sector_idx ON organisations (sector, id);
CREATE INDEX organisations_dissolved_idx ON organisations (dissolved_on);
CREATE INDEX organisations_search_idx ON organisations USING gin (search gin_trgm_ops);
