-- The entries that ended a membership (transferred out, expelled, removed, deceased), by member and day. The
-- political-theory report of the whole registry as of a day counts the members admitted by then that have none of
-- them by then: without this index PostgreSQL read the whole history (11.8 million entries on the national
-- registry) to find the 490,000 that end a membership. Admissions and other changes of status write no entry here.
CREATE INDEX member_events_endings_idx ON member_events (member_id, "on")
    WHERE status_after NOT IN ('probationary', 'official', 'exempt');
