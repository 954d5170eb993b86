-- A subtree's political-theory report as of a day starts from today's kept counts and corrects them by the members
-- whose history has an entry after that day naming one of the subtree's organisations. With the day beside the
-- organisation, each organisation reads only its entries after the day, not its whole history. The index takes the
-- place of the one on the organisation alone (every statement that used it names the organisation first), so a
-- history entry writes no more indexes than before.
CREATE INDEX member_events_organisation_on_idx ON member_events (organisation_id, "on");
DROP INDEX member_events_organisation_idx;
