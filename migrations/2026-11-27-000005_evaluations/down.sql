DROP INDEX members_current_theory_idx;
DROP INDEX member_events_admissions_idx;
DROP TABLE member_evaluations;
DROP TABLE evaluations;
