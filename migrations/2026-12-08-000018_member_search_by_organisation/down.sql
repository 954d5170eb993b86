CREATE INDEX members_organisation_plain_idx ON members (organisation_id, id);
DROP INDEX members_organisation_idx;
ALTER INDEX members_organisation_plain_idx RENAME TO members_organisation_idx;
