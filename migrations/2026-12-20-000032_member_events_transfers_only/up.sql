-- The index of the receiving organisation holds transfers only. It held an entry for every history entry, nearly all
-- of them without a receiving organisation (on the national registry 11.7 million entries, none a transfer: 77 MB),
-- so every admission, recognition and exemption wrote an entry nobody reads. Every use of it asks for an
-- organisation (the foreign key's checks, the political-theory report's transfers into a subtree since a day), so
-- the partial index serves all of them; the day beside it answers the report's "since" from the index.
CREATE INDEX member_events_transfers_idx ON member_events (to_organisation_id, "on")
    WHERE to_organisation_id IS NOT NULL;
DROP INDEX member_events_to_organisation_idx;
