ALTER TABLE organisation_member_counts DROP CONSTRAINT organisation_member_counts_pkey,
    ADD PRIMARY KEY (organisation_id, status, shard);
