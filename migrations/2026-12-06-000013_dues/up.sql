-- Party dues: one payment per member and month, in whole đồng (domain.md, "Party dues").
CREATE TABLE dues (
    id               uuid PRIMARY KEY,
    member_id        uuid NOT NULL REFERENCES members (id),
    -- The member's organisation when the payment was recorded: the cell that collected it.
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    period           text NOT NULL,
    amount           bigint NOT NULL,
    paid_on          date NOT NULL,
    note             text,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dues_member_id_period_key UNIQUE (member_id, period),
    CONSTRAINT dues_period_format CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT dues_amount_positive CHECK (amount > 0)
);

CREATE INDEX dues_organisation_idx ON dues (organisation_id, id);
CREATE INDEX dues_period_idx ON dues (period, member_id);

CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON dues
    FOR EACH ROW EXECUTE FUNCTION changes_record('due');
CREATE TRIGGER changes_record_update AFTER UPDATE ON dues
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('due');
