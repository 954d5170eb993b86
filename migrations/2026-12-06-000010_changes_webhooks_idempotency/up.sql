-- Safe retries, the change feed and webhooks.

-- Idempotency keys: the response a POST with an `Idempotency-Key` got, kept for 24 hours per token. A row is
-- written in the transaction of the change it answers, so neither exists without the other.
CREATE TABLE idempotency_keys (
    token_name   text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       smallint    NOT NULL,
    headers      jsonb       NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (token_name, key),
    CONSTRAINT idempotency_keys_key_length CHECK (char_length(key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_keys_status CHECK (status BETWEEN 100 AND 599)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- The change feed. A trigger on every resource table adds one entry per created, changed or deleted row, in the
-- transaction of the change. Entries are numbered (`position`) only after they are committed, by one numbering
-- step at a time (`change_feed` row lock): see src/resources/changes/store.rs for why that makes the feed
-- gap-free and in commit order.
CREATE TABLE changes (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position               bigint      UNIQUE,
    at                     timestamptz NOT NULL DEFAULT now(),
    resource_type          text        NOT NULL,
    resource_id            uuid        NOT NULL,
    action                 text        NOT NULL,
    version                integer     NOT NULL,
    -- The organisation the resource belongs to after the change (before it, for a deletion), and the one it
    -- belonged to before when the change moved it: a scoped token sees the entry when either lies in its subtree.
    organisation_id        uuid,
    former_organisation_id uuid,
    CONSTRAINT changes_action CHECK (action IN ('created', 'updated', 'deleted', 'event', 'reorganised'))
);
CREATE INDEX changes_unnumbered ON changes (id) WHERE position IS NULL;
CREATE INDEX changes_at ON changes (at);

-- The numbering state: the last position given, and the last one removed as too old (a cursor below it -> 410).
CREATE TABLE change_feed (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_position  bigint  NOT NULL DEFAULT 0,
    pruned_through bigint  NOT NULL DEFAULT 0
);
INSERT INTO change_feed DEFAULT VALUES;

-- One entry for the row the trigger fires on. TG_ARGV[0] is the resource type. The action is `reorganised` for a
-- change a reorganisation makes to an existing row (`partybase.reorganisation_id` set), `event` when the
-- transaction marked it as a member's lifecycle event (`partybase.change_action`), else what the statement did.
CREATE FUNCTION changes_record() RETURNS trigger LANGUAGE plpgsql AS $$
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
$$;

CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON organisations
    FOR EACH ROW EXECUTE FUNCTION changes_record('organisation');
CREATE TRIGGER changes_record_update AFTER UPDATE ON organisations
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('organisation');
CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION changes_record('member');
CREATE TRIGGER changes_record_update AFTER UPDATE ON members
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('member');
CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON resolutions
    FOR EACH ROW EXECUTE FUNCTION changes_record('resolution');
CREATE TRIGGER changes_record_update AFTER UPDATE ON resolutions
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('resolution');
CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON resolution_implementations
    FOR EACH ROW EXECUTE FUNCTION changes_record('implementation');
CREATE TRIGGER changes_record_update AFTER UPDATE ON resolution_implementations
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('implementation');
CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON evaluations
    FOR EACH ROW EXECUTE FUNCTION changes_record('evaluation');
CREATE TRIGGER changes_record_update AFTER UPDATE ON evaluations
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('evaluation');
CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON member_evaluations
    FOR EACH ROW EXECUTE FUNCTION changes_record('member_evaluation');
CREATE TRIGGER changes_record_update AFTER UPDATE ON member_evaluations
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('member_evaluation');
CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON reorganisations
    FOR EACH ROW EXECUTE FUNCTION changes_record('reorganisation');

-- Webhook subscriptions (admin only). The secret signs deliveries, so it is kept as issued; it is shown once.
CREATE TABLE webhooks (
    id              uuid        PRIMARY KEY,
    url             text        NOT NULL,
    resource_types  text[]      NOT NULL DEFAULT '{}',
    organisation_id uuid        REFERENCES organisations (id),
    description     text,
    active          boolean     NOT NULL DEFAULT true,
    secret          text        NOT NULL,
    version         integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_url_length CHECK (char_length(url) BETWEEN 1 AND 2000),
    CONSTRAINT webhooks_description_length CHECK (char_length(description) <= 500)
);

-- The outbox: one row per feed entry and matching webhook, made when the entry is numbered, so every entry is
-- offered to every subscription exactly once. Senders claim due rows with FOR UPDATE SKIP LOCKED and a lease.
CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY DEFAULT pb_uuid_v7(),
    webhook_id       uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    position         bigint      NOT NULL,
    status           text        NOT NULL DEFAULT 'pending',
    attempts         integer     NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    last_attempt_at  timestamptz,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_status CHECK (status IN ('pending', 'succeeded', 'failed')),
    UNIQUE (webhook_id, position)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (id) WHERE status = 'failed';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
