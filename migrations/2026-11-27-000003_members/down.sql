DROP TRIGGER members_count ON members;
DROP FUNCTION members_count_change();
DROP TABLE organisation_member_counts;
DROP TABLE member_events;
DROP TABLE members;
