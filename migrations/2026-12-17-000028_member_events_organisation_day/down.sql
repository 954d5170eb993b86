CREATE INDEX member_events_organisation_idx ON member_events (organisation_id);
DROP INDEX member_events_organisation_on_idx;
