DROP INDEX member_events_endings_idx;
