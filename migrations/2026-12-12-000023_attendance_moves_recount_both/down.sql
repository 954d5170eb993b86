DROP TRIGGER meeting_attendance_count_update ON meeting_attendance;
CREATE TRIGGER meeting_attendance_count_update AFTER UPDATE ON meeting_attendance REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_attendance_count();
CREATE OR REPLACE FUNCTION meeting_attendance_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT meeting_id) INTO touched FROM removed;
    ELSE
        SELECT array_agg(DISTINCT meeting_id) INTO touched FROM changed;
    END IF;
    UPDATE meetings m
       SET expected = a.expected, present = a.present, unexcused = a.unexcused
      FROM unnest(touched) AS t(id)
      CROSS JOIN LATERAL (
          SELECT count(*) AS expected,
                 count(*) FILTER (WHERE status = 'present') AS present,
                 count(*) FILTER (WHERE status = 'absent_unexcused') AS unexcused
            FROM meeting_attendance WHERE meeting_id = t.id) a
     WHERE m.id = t.id
       AND (m.expected, m.present, m.unexcused) IS DISTINCT FROM (a.expected, a.present, a.unexcused);
    RETURN NULL;
END;
$$;
