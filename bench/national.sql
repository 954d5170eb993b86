-- A national-size registry: 63 provinces, 700 districts, 52,000 base organisations, 270,000 cells, 5.6 million
-- members with their admission history (admission, recognition as official, exemption, death), the evaluations of
-- every base organisation from 2012 to 2024 in the grades of each year's scheme, the 2024 evaluations of every
-- current member, and resolutions of every province and district with the base organisations' implementations.
-- Run on an empty migrated database (`bench/run national` does both):
--   DATABASE_URL=postgres://postgres@localhost:5432/pb_national partybase migrate
--   psql -h 127.0.0.1 -U postgres -d pb_national -f bench/national.sql
-- Smaller registries for trying it out: psql -v members=56000 -v cells=2700 -v bases=520 -v districts=7 ...
--
-- How it stays fast: every row is made by a set-based INSERT ... SELECT, the largest in parts side by side, in
-- two sessions by default (`parts.sql`; `-v sessions=N`); triggers and foreign key checks are off
-- (`session_replication_role = replica`), and what the triggers would keep (organisation versions, member counts,
-- evaluation counts, the dues figures) is filled from the finished tables; the secondary indexes of the large
-- tables are dropped before the load and built after it, with parallel workers. The change feed starts empty: a
-- generated registry is a starting state, not a history.
\set ON_ERROR_STOP on
\timing on
\if :{?provinces} \else \set provinces 63 \endif
\if :{?districts} \else \set districts 700 \endif
\if :{?bases} \else \set bases 52000 \endif
\if :{?cells} \else \set cells 270000 \endif
\if :{?members} \else \set members 5600000 \endif

SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 2;
SET work_mem = '256MB';
SET session_replication_role = replica;

-- The secondary indexes of the tables loaded here, and the primary keys and unique constraints no foreign key
-- leans on, kept to be built again at the end.
CREATE TEMP TABLE loaded (t regclass);
INSERT INTO loaded VALUES ('organisations'), ('organisation_versions'), ('members'), ('member_events'),
    ('evaluations'), ('member_evaluations'), ('resolutions'), ('resolution_implementations');
CREATE TEMP TABLE dropped_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN loaded ON loaded.t = i.indrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
CREATE TEMP TABLE dropped_constraints AS
SELECT c.conrelid::regclass::text AS relation, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c JOIN loaded ON loaded.t = c.conrelid
WHERE c.contype IN ('p', 'u')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid);
SELECT format('DROP INDEX %s', name) FROM dropped_indexes \gexec
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', relation, name) FROM dropped_constraints \gexec

\ir parts.sql

-- The tree: the country, provinces, districts, base organisations (3 in 5 base committees), cells under the base
-- committees. Codes are VN, P<n>, D<n>, B<n>, C<n>; labels are the ids without dashes, as the service makes them.
CREATE TEMP TABLE tree AS
SELECT gen_random_uuid() AS id, 'VN' AS code, 'Đảng Cộng sản Việt Nam' AS name, 'superior_committee' AS kind,
       NULL::text AS sector, NULL::uuid AS parent_id, 0 AS level, 1 AS n;
INSERT INTO tree
SELECT gen_random_uuid(), 'P' || g, 'Đảng bộ tỉnh ' || g, 'superior_committee', NULL,
       (SELECT id FROM tree WHERE level = 0), 1, g
FROM generate_series(1, :provinces) g;
INSERT INTO tree
SELECT gen_random_uuid(), 'D' || g, 'Đảng bộ huyện ' || g, 'superior_committee', NULL, p.id, 2, g
FROM generate_series(1, :districts) g JOIN tree p ON p.level = 1 AND p.n = 1 + g % :provinces;
INSERT INTO tree
SELECT gen_random_uuid(), 'B' || g, 'Tổ chức cơ sở đảng ' || g,
       CASE WHEN g % 5 < 3 THEN 'base_committee' ELSE 'base_cell' END,
       (ARRAY['commune','ward','township','administrative_agency','public_service_unit','enterprise',
              'armed_forces','other'])[1 + g % 8],
       d.id, 3, g
FROM generate_series(1, :bases) g JOIN tree d ON d.level = 2 AND d.n = 1 + g % :districts;
-- The base committees numbered 1.. in order, to spread the cells over them.
CREATE TEMP TABLE committees AS
SELECT id, row_number() OVER (ORDER BY n) AS k FROM tree WHERE kind = 'base_committee';
INSERT INTO tree
SELECT gen_random_uuid(), 'C' || g, 'Chi bộ ' || g, 'cell', NULL, b.id, 4, g
FROM generate_series(1, :cells) g JOIN committees b ON b.k = 1 + g % (SELECT count(*) FROM committees);
CREATE INDEX ON tree (id);
ANALYZE tree;

INSERT INTO organisations (id, code, name, kind, sector, parent_id, path)
WITH RECURSIVE paths AS (
    SELECT id, text2ltree(replace(id::text, '-', '')) AS path FROM tree WHERE level = 0
    UNION ALL
    SELECT t.id, p.path || replace(t.id::text, '-', '') FROM tree t JOIN paths p ON t.parent_id = p.id
)
SELECT t.id, t.code, t.name, t.kind, t.sector, t.parent_id, p.path FROM tree t JOIN paths p USING (id);
INSERT INTO organisation_versions (organisation_id, valid_during, parent_id, name, kind, path)
SELECT id, daterange(NULL, NULL), parent_id, name, kind, path FROM organisations;

-- Members: spread evenly over the cells and base cells; a tenth are probationary (admitted in 2024), most are
-- official; some exempt, some deceased, a few transferred out, expelled or removed.
-- The organisations that hold members, numbered: a table the other sessions see, dropped at the end.
CREATE UNLOGGED TABLE bench_holders AS
SELECT id, row_number() OVER (ORDER BY id) AS k FROM tree WHERE kind IN ('cell', 'base_cell');
CREATE INDEX ON bench_holders (k);
ANALYZE bench_holders;
SELECT pg_temp.side_by_side(replace($members$
INSERT INTO members (id, full_name, gender, birth_date, organisation_id, admitted_on, official_on, status,
                     card_number, political_theory)
SELECT gen_random_uuid(),
       (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Huỳnh','Phan','Vũ','Võ','Đặng','Bùi','Đỗ','Hồ','Ngô','Dương',
              'Lý','Hà','Đinh','Cao','Lò'])[1 + (g * 7) % 20]
       || ' ' || (ARRAY['Văn','Thị','Hữu','Đức','Minh','Thanh','Quang','Ngọc','Công','Xuân'])[1 + (g * 13) % 10]
       || ' ' || (ARRAY['An','Anh','Ánh','Ẩn','Bình','Cường','Dũng','Đức','Giang','Hà','Hải','Hạnh','Hoa','Hùng',
                        'Hương','Khánh','Lan','Linh','Long','Mai','Minh','Nam','Ngân','Nga','Phúc','Phương','Quân',
                        'Sơn','Tâm','Thảo','Thắng','Thủy','Trang','Trung','Tuấn','Vân','Việt','Xuân','Yến',
                        'Lâm'])[1 + (g * 31) % 40],
       CASE WHEN (r / 7) % 3 = 1 THEN 'female' ELSE 'male' END,
       s.admitted_on - (6570 + g % 12000),
       h.id,
       s.admitted_on,
       CASE WHEN s.status = 'probationary' THEN NULL ELSE s.admitted_on + 365 END,
       s.status,
       lpad(g::text, 8, '0'),
       (ARRAY['none','elementary','elementary','intermediate','intermediate','advanced'])[1 + (r / 400) % 6]
FROM generate_series(1, {members}) g
JOIN bench_holders h ON h.k = 1 + g % (SELECT count(*) FROM bench_holders)
CROSS JOIN LATERAL (SELECT (hashtext(g::text) & 2147483647) AS r) dice
CROSS JOIN LATERAL (
    SELECT CASE WHEN r % 20 < 2 THEN 'probationary'
                WHEN r % 20 < 16 THEN 'official'
                WHEN r % 20 < 18 THEN 'exempt'
                WHEN r % 20 = 18 THEN 'deceased'
                ELSE (ARRAY['transferred_out','expelled','removed','official'])[1 + (r / 20) % 4]
           END AS status,
           CASE WHEN r % 20 < 2 THEN DATE '2024-01-01' + r % 360 ELSE DATE '1965-01-01' + r % 21500 END
               AS admitted_on
) s
WHERE g % {parts} = {part}
$members$, '{members}', :'members'));

-- Their histories, oldest first: the admission; recognition as official a year later; the exemption or death. The
-- parts split the members by the first byte of their id.
SELECT pg_temp.side_by_side($events$
INSERT INTO member_events (id, member_id, type, "on", status_before, status_after, organisation_id, actor)
SELECT gen_random_uuid(), id, 'admitted', admitted_on, NULL, 'probationary', organisation_id, 'bench'
FROM members WHERE get_byte(uuid_send(id), 0) % {parts} = {part}
$events$);
SELECT pg_temp.side_by_side($events$
INSERT INTO member_events (id, member_id, type, "on", status_before, status_after, organisation_id, actor)
SELECT gen_random_uuid(), id, 'recognised_official', official_on, 'probationary', 'official', organisation_id, 'bench'
FROM members WHERE official_on IS NOT NULL AND get_byte(uuid_send(id), 0) % {parts} = {part}
$events$);
INSERT INTO member_events (id, member_id, type, "on", status_before, status_after, organisation_id, actor)
SELECT gen_random_uuid(), id,
       CASE status WHEN 'exempt' THEN 'exempted' WHEN 'transferred_out' THEN 'transferred_out' ELSE status END,
       greatest(official_on + 1, DATE '2020-01-01' + (hashtext(id::text) & 2147483647) % 1800), 'official', status,
       organisation_id, 'bench'
FROM members WHERE status IN ('exempt', 'deceased', 'transferred_out', 'expelled', 'removed');

-- The evaluations of every base organisation from 2012 to 2024, in the grades of each year's scheme.
INSERT INTO evaluations (id, organisation_id, year, grade, score, decided_on)
SELECT gen_random_uuid(), t.id, y,
       CASE WHEN y < 2018
            THEN (ARRAY['clean_strong','well_completed','well_completed','well_completed','completed','weak'])
                 [1 + (hashtext(t.id::text || y) & 2147483647) % 6]
            ELSE (ARRAY['excellent','good','good','good','completed','not_completed'])
                 [1 + (hashtext(t.id::text || y) & 2147483647) % 6]
       END,
       CASE WHEN y BETWEEN 2014 AND 2017 THEN 50 + (hashtext(t.id::text || y) & 2147483647) % 50 END,
       make_date(y, 12, 20)
FROM tree t CROSS JOIN generate_series(2012, 2024) y
WHERE t.kind IN ('base_committee', 'base_cell');

-- The 2024 evaluations of every current member, in the organisation they belong to.
SELECT pg_temp.side_by_side($evaluations$
INSERT INTO member_evaluations (id, member_id, organisation_id, year, grade, decided_on)
SELECT gen_random_uuid(), id, organisation_id, 2024,
       (ARRAY['excellent','good','good','good','good','completed','not_completed'])[1 + (hashtext(id::text) & 2147483647) % 7],
       DATE '2024-12-20'
FROM members
WHERE status IN ('probationary', 'official', 'exempt') AND get_byte(uuid_send(id), 0) % {parts} = {part}
$evaluations$);

-- Resolutions: every province issues 8 and every district 6 (2021-2024); each base organisation implements its
-- district's and its province's.
INSERT INTO resolutions (id, number, title, issuing_organisation_id, issued_on, field, status, targets)
SELECT gen_random_uuid(), k || '-NQ/' || t.code,
       'Nghị quyết chuyên đề ' || k || ' của ' || t.name, t.id, DATE '2021-03-01' + (k * 97 + t.n) % 1300,
       (ARRAY['political_ideology','member_development','inspection_supervision','organisation_building',
              'socio_economic','defence_security','mass_mobilisation','other'])[1 + k % 8],
       'in_force', '[{"indicator": "Tỷ lệ hoàn thành", "target": 100, "unit": "%"}]'
FROM tree t CROSS JOIN generate_series(1, 8) k
WHERE t.level = 1 OR (t.level = 2 AND k <= 6);
INSERT INTO resolution_implementations (id, resolution_id, organisation_id, status, plan_adopted_on, reported_on)
SELECT gen_random_uuid(), r.id, b.id,
       (ARRAY['planned','in_progress','in_progress','completed'])[1 + (hashtext(b.id::text || r.id::text) & 2147483647) % 4],
       r.issued_on + 30, NULL
FROM tree b
JOIN tree d ON d.id = b.parent_id
JOIN resolutions r ON r.issuing_organisation_id IN (d.id, d.parent_id)
WHERE b.kind IN ('base_committee', 'base_cell');
UPDATE resolution_implementations i SET reported_on = r.issued_on + 300
FROM resolutions r WHERE r.id = i.resolution_id AND i.status = 'completed';

-- What the triggers keep, from the finished tables.
INSERT INTO organisation_member_counts (organisation_id, status, shard, members, theory_none, theory_elementary,
                                        theory_intermediate, theory_advanced)
SELECT organisation_id, status, 0, count(*),
       count(*) FILTER (WHERE political_theory = 'none'), count(*) FILTER (WHERE political_theory = 'elementary'),
       count(*) FILTER (WHERE political_theory = 'intermediate'),
       count(*) FILTER (WHERE political_theory = 'advanced')
FROM members GROUP BY organisation_id, status;
INSERT INTO member_evaluation_counts (organisation_id, year, shard, excellent, good, completed, not_completed)
SELECT organisation_id, year, 0,
       count(*) FILTER (WHERE grade = 'excellent'), count(*) FILTER (WHERE grade = 'good'),
       count(*) FILTER (WHERE grade = 'completed'), count(*) FILTER (WHERE grade = 'not_completed')
FROM member_evaluations GROUP BY organisation_id, year;
-- The dues figures (their tables are empty in a new registry).
SELECT pg_temp.dues_count_in_parts();
-- The admissions kept by day and base organisation (migration admission_bases_kept), counted whole as
-- admission_bases_rebuild() counts them, in parts split by the day of the month so that no two parts write the same
-- row. They are counted through the end of time: a new registry's admission_bases_kept says so already, as the
-- migration's own rebuild left it.
SELECT pg_temp.side_by_side($admitted$
    SELECT admission_bases_place('src AS (SELECT "on", organisation_id, count(*)::integer AS delta
                                          FROM member_events
                                          WHERE type = ''admitted'' AND extract(day FROM "on")::integer % {parts} = {part}
                                          GROUP BY 1, 2)')
$admitted$);

DROP TABLE bench_holders;
DROP EXTENSION dblink;

RESET session_replication_role;
SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', relation, name, definition) FROM dropped_constraints \gexec
SELECT definition FROM dropped_indexes \gexec
VACUUM (ANALYZE);
SELECT (SELECT count(*) FROM organisations) AS organisations, (SELECT count(*) FROM members) AS members,
       (SELECT count(*) FROM member_events) AS events, (SELECT count(*) FROM evaluations) AS evaluations,
       (SELECT count(*) FROM member_evaluations) AS member_evaluations,
       (SELECT count(*) FROM resolution_implementations) AS implementations;
