CREATE TABLE api_tokens (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    role            text NOT NULL,
    organisation_id uuid REFERENCES organisations (id),
    -- SHA-256 of the secret; the secret itself is shown once and never stored.
    secret_hash     bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    CONSTRAINT api_tokens_name_key UNIQUE (name),
    CONSTRAINT api_tokens_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT api_tokens_name_length CHECK (char_length(name) BETWEEN 1 AND 64),
    CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'editor', 'viewer')),
    CONSTRAINT api_tokens_scope_check CHECK (
        (role = 'admin' AND organisation_id IS NULL)
        OR (role = 'editor' AND organisation_id IS NOT NULL)
        OR role = 'viewer')
);

CREATE INDEX api_tokens_organisation_idx ON api_tokens (organisation_id);

CREATE TABLE audit_events (
    id            uuid PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    changes       jsonb NOT NULL,
    request_id    text NOT NULL
);

CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, id);
CREATE INDEX audit_events_resource_id_idx ON audit_events (resource_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, id);
CREATE INDEX audit_events_at_idx ON audit_events (at, id);

-- The audit trail is append-only: no route changes it, and the database refuses to as well.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
