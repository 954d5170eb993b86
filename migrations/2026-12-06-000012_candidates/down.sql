ALTER TABLE members DROP COLUMN candidate_id;
DROP TABLE candidate_steps;
DROP TABLE candidates;
