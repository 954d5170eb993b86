-- A name search within a subtree reads the subtree's members organisation by organisation: with the folded name and
-- the card number kept in the organisation index, it reads them from the index alone (a province of the national
-- registry: 47 ms instead of 450-700 ms going through the whole country's namesakes). The index keeps its name and
-- its key, so every other use of it is as before.
CREATE INDEX members_organisation_search_idx ON members (organisation_id, id) INCLUDE (name_search, card_number);
DROP INDEX members_organisation_idx;
ALTER INDEX members_organisation_search_idx RENAME TO members_organisation_idx;
