DROP FUNCTION meetings_kept_count(integer, integer);
ALTER TABLE meeting_attendance
    DROP CONSTRAINT meeting_attendance_meeting_id_fkey,
    ADD CONSTRAINT meeting_attendance_meeting_id_fkey FOREIGN KEY (meeting_id) REFERENCES meetings (id)
        ON DELETE CASCADE;
DROP TRIGGER meeting_attendance_kept_insert ON meeting_attendance;
DROP TRIGGER meeting_attendance_kept_update ON meeting_attendance;
DROP TRIGGER meeting_attendance_kept_delete ON meeting_attendance;
DROP FUNCTION meeting_attendance_absences();
DROP TRIGGER meetings_kept_insert ON meetings;
DROP TRIGGER meetings_kept_update ON meetings;
DROP TRIGGER meetings_kept_delete ON meetings;
DROP FUNCTION meetings_kept();
DROP FUNCTION meeting_absences_add(uuid[], date[], uuid[], integer[]);
DROP FUNCTION meeting_years_add(meetings[], meetings[]);
DROP TABLE meeting_absences;
DROP TABLE meeting_years;
DROP FUNCTION pb_months_with(integer[]);
DROP FUNCTION pb_month_counts(integer[], integer[]);
DROP FUNCTION pb_array_add(integer[], integer[]);
