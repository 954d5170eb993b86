DROP INDEX member_events_moves_idx;
DROP INDEX members_ended_idx;
DROP INDEX members_current_admitted_idx;
CREATE INDEX members_current_theory_idx ON members (organisation_id, political_theory)
    WHERE status IN ('probationary', 'official', 'exempt');
DROP INDEX members_admitted_idx;
CREATE INDEX members_admitted_idx ON members (admitted_on, id);
