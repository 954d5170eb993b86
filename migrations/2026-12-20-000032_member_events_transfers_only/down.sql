CREATE INDEX member_events_to_organisation_idx ON member_events (to_organisation_id);
DROP INDEX member_events_transfers_idx;
