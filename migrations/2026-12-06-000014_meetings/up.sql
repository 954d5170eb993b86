-- Cell meetings and their attendance (domain.md, "Cell meetings").
CREATE TABLE meetings (
    id               uuid PRIMARY KEY,
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    held_on          date NOT NULL,
    kind             text NOT NULL,
    topic            text,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT meetings_kind_check CHECK (kind IN ('regular', 'thematic', 'extraordinary')),
    CONSTRAINT meetings_topic_length CHECK (char_length(topic) <= 500)
);

CREATE INDEX meetings_organisation_idx ON meetings (organisation_id, held_on);
CREATE INDEX meetings_held_on_idx ON meetings (held_on, id);

-- One row per member expected at a meeting: who came, who was excused, who was absent without an excuse.
CREATE TABLE meeting_attendance (
    meeting_id  uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    member_id   uuid NOT NULL REFERENCES members (id),
    status      text NOT NULL,
    PRIMARY KEY (meeting_id, member_id),
    CONSTRAINT meeting_attendance_status_check CHECK (status IN ('present', 'absent_excused', 'absent_unexcused'))
);

CREATE INDEX meeting_attendance_member_idx ON meeting_attendance (member_id);

CREATE TRIGGER changes_record_insert_delete AFTER INSERT OR DELETE ON meetings
    FOR EACH ROW EXECUTE FUNCTION changes_record('meeting');
CREATE TRIGGER changes_record_update AFTER UPDATE ON meetings
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION changes_record('meeting');
