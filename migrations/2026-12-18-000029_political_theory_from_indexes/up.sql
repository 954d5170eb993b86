-- Political-theory as of a day starts from today's standing and counts what changed since the day from indexes
-- alone (index-only scans), where it read each changed member's row.
--
-- The current members admitted after the day: for the whole registry on the admission day's index, with level and
-- status beside it; for a subtree per organisation, with the admission day as the second key. Each takes the place
-- of an index on the same first keys, so an admission writes no more index entries than before.
DROP INDEX members_admitted_idx;
CREATE INDEX members_admitted_idx ON members (admitted_on, id) INCLUDE (political_theory, status);
DROP INDEX members_current_theory_idx;
CREATE INDEX members_current_admitted_idx ON members (organisation_id, admitted_on) INCLUDE (political_theory)
    WHERE status IN ('probationary', 'official', 'exempt');
-- The members whose membership ended, with level and admission day: joined to the entries that ended it. Only an
-- end of membership writes here.
CREATE INDEX members_ended_idx ON members (id) INCLUDE (political_theory, admitted_on)
    WHERE status NOT IN ('probationary', 'official', 'exempt');
-- The entries that can move a member once admitted (transfers and ends of membership) by organisation and day: a
-- subtree reads its organisations' moves since the day. Admissions, recognitions and exemptions, most of the
-- history, write nothing here.
CREATE INDEX member_events_moves_idx ON member_events (organisation_id, "on")
    WHERE status_before IS NOT NULL
      AND (to_organisation_id IS NOT NULL OR status_after NOT IN ('probationary', 'official', 'exempt'));
