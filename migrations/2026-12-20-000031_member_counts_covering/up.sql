-- The member counts' key holds the counts themselves, so that a subtree's counts are read from the index alone.
--
-- A report over a subtree (political theory, today and as of a day) reads the counts of each of its organisations
-- by key: a province's 5,329 organisations took 35,000 buffers, three of the key index and about four of the table
-- for each, as an organisation's rows (one per status and writer's shard) lie on different pages. From the index
-- alone they take 16,000. The price: a change of a count is no longer a heap-only update, so each writes a new
-- entry into this index (the only one on the table).
CREATE UNIQUE INDEX organisation_member_counts_key ON organisation_member_counts (organisation_id, status, shard)
    INCLUDE (members, theory_none, theory_elementary, theory_intermediate, theory_advanced);
ALTER TABLE organisation_member_counts DROP CONSTRAINT organisation_member_counts_pkey,
    ADD CONSTRAINT organisation_member_counts_pkey PRIMARY KEY USING INDEX organisation_member_counts_key;
