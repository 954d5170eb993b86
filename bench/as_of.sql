-- The plans of the tree of a province as of a past day: the statements of
-- src/resources/organisations/store/through_time.rs (list_on, count_on, path_on, find_on, ancestors_on), prepared
-- with the same text and parameters as the service sends them, on a database where a reorganisation has happened
-- (bench/reorganisation.sh with KEEP=1 leaves one: pb_national_reorg). Unnamed statements with bound values are
-- planned for those values, as a prepared statement's first executions are here.
--   psql -h 127.0.0.1 -U postgres -d pb_national_reorg -v province=P1 -v day=2025-06-30 -f bench/as_of.sql
\set ON_ERROR_STOP on
\pset pager off
SELECT id AS province_id FROM organisations WHERE code = :'province' \gset
-- A cell of the province as it stood on the day, deepest first, for the item and ancestors reads.
SELECT v.organisation_id AS cell_id, v.path AS cell_path FROM organisation_versions v
 WHERE v.valid_during @> date :'day' AND v.kind = 'cell'
   AND v.path <@ (SELECT path FROM organisations WHERE id = :'province_id') ORDER BY v.organisation_id LIMIT 1 \gset

PREPARE path_on(date, uuid) AS
SELECT v.path FROM organisation_versions v JOIN organisations o ON o.id = v.organisation_id
 WHERE v.valid_during @> $1::date
   AND (o.established_on IS NULL OR o.established_on <= $1::date)
   AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date) AND o.id = $2;

PREPARE list_on(date, ltree, ltree, uuid, text[], text, text, boolean, uuid, bigint) AS
SELECT o.id, o.code, v.name, v.kind, o.sector, v.parent_id, v.path, o.established_on,
       o.dissolved_on, o.address, o.note, o.version, o.created_at, o.updated_at,
       ARRAY(SELECT s.organisation_id FROM organisation_successions s WHERE s.successor_id = o.id ORDER BY 1)
           AS predecessor_ids,
       ARRAY(SELECT s.successor_id FROM organisation_successions s WHERE s.organisation_id = o.id ORDER BY 1)
           AS successor_ids
  FROM organisation_versions v JOIN organisations o ON o.id = v.organisation_id
 WHERE v.valid_during @> $1::date
   AND (o.established_on IS NULL OR o.established_on <= $1::date)
   AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date)
   AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
   AND ($3::ltree IS NULL OR (v.path <@ $3::ltree AND v.path <> $3::ltree))
   AND ($4::uuid IS NULL OR v.parent_id = $4::uuid)
   AND ($5::text[] IS NULL OR v.kind = ANY($5::text[]))
   AND ($6::text IS NULL OR o.sector = $6::text)
   AND ($7::text IS NULL OR pb_fold(o.code || ' ' || v.name) LIKE '%' || pb_fold($7::text) || '%')
   AND ($8::boolean IS NULL OR $8::boolean)
   AND ($9::uuid IS NULL OR o.id > $9::uuid) ORDER BY o.id LIMIT $10;

PREPARE count_on(date, ltree, ltree, uuid, text[], text, text, boolean) AS
SELECT count(*) AS n
  FROM organisation_versions v JOIN organisations o ON o.id = v.organisation_id
 WHERE v.valid_during @> $1::date
   AND (o.established_on IS NULL OR o.established_on <= $1::date)
   AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date)
   AND ($2::ltree IS NULL OR o.path <@ $2::ltree)
   AND ($3::ltree IS NULL OR (v.path <@ $3::ltree AND v.path <> $3::ltree))
   AND ($4::uuid IS NULL OR v.parent_id = $4::uuid)
   AND ($5::text[] IS NULL OR v.kind = ANY($5::text[]))
   AND ($6::text IS NULL OR o.sector = $6::text)
   AND ($7::text IS NULL OR pb_fold(o.code || ' ' || v.name) LIKE '%' || pb_fold($7::text) || '%')
   AND ($8::boolean IS NULL OR $8::boolean);

PREPARE find_on(date, uuid, ltree) AS
SELECT o.id, o.code, v.name, v.kind, o.sector, v.parent_id, v.path, o.established_on,
       o.dissolved_on, o.address, o.note, o.version, o.created_at, o.updated_at,
       ARRAY(SELECT s.organisation_id FROM organisation_successions s WHERE s.successor_id = o.id ORDER BY 1)
           AS predecessor_ids,
       ARRAY(SELECT s.successor_id FROM organisation_successions s WHERE s.organisation_id = o.id ORDER BY 1)
           AS successor_ids
  FROM organisation_versions v JOIN organisations o ON o.id = v.organisation_id
 WHERE v.valid_during @> $1::date
   AND (o.established_on IS NULL OR o.established_on <= $1::date)
   AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date)
   AND o.id = $2 AND ($3::ltree IS NULL OR o.path <@ $3::ltree);

PREPARE ancestors_on(date, ltree, ltree) AS
SELECT o.id, o.code, v.name, v.kind, o.sector, v.parent_id, v.path, o.established_on,
       o.dissolved_on, o.address, o.note, o.version, o.created_at, o.updated_at,
       ARRAY(SELECT s.organisation_id FROM organisation_successions s WHERE s.successor_id = o.id ORDER BY 1)
           AS predecessor_ids,
       ARRAY(SELECT s.successor_id FROM organisation_successions s WHERE s.organisation_id = o.id ORDER BY 1)
           AS successor_ids
  FROM organisation_versions v JOIN organisations o ON o.id = v.organisation_id
 WHERE v.valid_during @> $1::date
   AND (o.established_on IS NULL OR o.established_on <= $1::date)
   AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date)
   AND v.path @> $2::ltree AND v.path <> $2::ltree
   AND ($3::ltree IS NULL OR o.path <@ $3::ltree) ORDER BY nlevel(v.path);

\echo == path_on (path of the province on the day: the under of the list)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE path_on(:'day', :'province_id');
SELECT path AS under_path FROM organisation_versions v
 WHERE v.organisation_id = :'province_id' AND v.valid_during @> date :'day' \gset
\echo == list_on, under the province, first page of 50 (fetch 51)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE list_on(:'day', NULL, :'under_path', NULL, NULL, NULL, NULL, NULL, NULL, 51);
\echo == list_on, under the province, first page of 200 (fetch 201)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE list_on(:'day', NULL, :'under_path', NULL, NULL, NULL, NULL, NULL, NULL, 201);
\echo == count_on (count=exact), under the province
EXPLAIN (ANALYZE, BUFFERS) EXECUTE count_on(:'day', NULL, :'under_path', NULL, NULL, NULL, NULL, NULL);
\echo == list_on, under the province, kind=cell, first page of 50
EXPLAIN (ANALYZE, BUFFERS) EXECUTE list_on(:'day', NULL, :'under_path', NULL, '{cell}', NULL, NULL, NULL, NULL, 51);
\echo == list_on, children of the province (parent_id), first page of 50
EXPLAIN (ANALYZE, BUFFERS) EXECUTE list_on(:'day', NULL, NULL, :'province_id', NULL, NULL, NULL, NULL, NULL, 51);
\echo == find_on (an item: a cell of the province as it stood then)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE find_on(:'day', :'cell_id', NULL);
\echo == ancestors_on (ancestors of that cell then)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE ancestors_on(:'day', :'cell_path', NULL);
