-- A national-size registry for query plans: 63 provinces, 700 districts, 52,000 base organisations,
-- 270,000 cells, 5.6 million members with their admission entries, the 2024 evaluations of every base
-- organisation and of every current member. Run on an empty migrated database (about 20 minutes on 2 cores):
--   DATABASE_URL=postgres://postgres@localhost:5432/pb_national cargo run --release -- migrate
--   psql -h 127.0.0.1 -U postgres -d pb_national -f bench/national.sql
\timing on
SET synchronous_commit = off;
-- The generated registry is a starting state, not a history: the change feed starts empty.
ALTER TABLE organisations DISABLE TRIGGER changes_record_insert_delete;
ALTER TABLE members DISABLE TRIGGER changes_record_insert_delete;
ALTER TABLE evaluations DISABLE TRIGGER changes_record_insert_delete;
ALTER TABLE member_evaluations DISABLE TRIGGER changes_record_insert_delete;
INSERT INTO organisations (id, code, name, kind, path)
SELECT id, 'VN', 'Đảng Cộng sản Việt Nam', 'superior_committee', text2ltree(replace(id::text, '-', ''))
FROM (SELECT gen_random_uuid() id) x;
INSERT INTO organisations (id, code, name, kind, parent_id, path)
SELECT x.id, 'P' || g, 'Đảng bộ tỉnh ' || g, 'superior_committee', r.id, r.path || replace(x.id::text, '-', '')
FROM generate_series(1, 63) g CROSS JOIN LATERAL (SELECT gen_random_uuid() id, g gg) x, organisations r WHERE r.code = 'VN';
CREATE TEMP TABLE provinces AS SELECT id, path, row_number() OVER (ORDER BY code) rn FROM organisations WHERE code LIKE 'P%';
INSERT INTO organisations (id, code, name, kind, parent_id, path)
SELECT x.id, 'D' || g, 'Đảng bộ huyện ' || g, 'superior_committee', p.id, p.path || replace(x.id::text, '-', '')
FROM generate_series(1, 700) g CROSS JOIN LATERAL (SELECT gen_random_uuid() id, g gg) x JOIN provinces p ON p.rn = 1 + g % 63;
CREATE TEMP TABLE districts AS SELECT id, path, row_number() OVER (ORDER BY code) rn FROM organisations WHERE code LIKE 'D%';
INSERT INTO organisations (id, code, name, kind, sector, parent_id, path)
SELECT x.id, 'B' || g, 'Tổ chức cơ sở đảng ' || g, CASE WHEN g % 5 < 3 THEN 'base_committee' ELSE 'base_cell' END,
       (ARRAY['commune','ward','township','administrative_agency','public_service_unit','enterprise','armed_forces','other'])[1 + g % 8],
       d.id, d.path || replace(x.id::text, '-', '')
FROM generate_series(1, 52000) g CROSS JOIN LATERAL (SELECT gen_random_uuid() id, g gg) x JOIN districts d ON d.rn = 1 + g % 700;
CREATE TEMP TABLE bases AS SELECT id, path, row_number() OVER (ORDER BY id) rn FROM organisations WHERE kind = 'base_committee';
INSERT INTO organisations (id, code, name, kind, parent_id, path)
SELECT x.id, 'C' || g, 'Chi bộ ' || g, 'cell', b.id, b.path || replace(x.id::text, '-', '')
FROM generate_series(1, 270000) g CROSS JOIN LATERAL (SELECT gen_random_uuid() id, g gg) x
JOIN bases b ON b.rn = 1 + g % (SELECT count(*) FROM bases);
ANALYZE organisations;
CREATE TEMP TABLE holders AS SELECT id, row_number() OVER (ORDER BY id) rn FROM organisations WHERE kind IN ('cell', 'base_cell');
CREATE INDEX ON holders (rn);
ANALYZE holders;
ALTER TABLE members DISABLE TRIGGER members_count;
INSERT INTO members (id, full_name, birth_date, organisation_id, admitted_on, official_on, status, card_number, political_theory)
SELECT gen_random_uuid(),
       (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Huỳnh','Phan','Vũ','Võ','Đặng','Bùi','Đỗ','Hồ','Ngô','Dương','Lý','Hà','Đinh','Cao','Lò'])[1 + (g * 7) % 20]
       || ' ' || (ARRAY['Văn','Thị','Hữu','Đức','Minh','Thanh','Quang','Ngọc','Công','Xuân'])[1 + (g * 13) % 10]
       || ' ' || (ARRAY['An','Anh','Ánh','Ẩn','Bình','Cường','Dũng','Đức','Giang','Hà','Hải','Hạnh','Hoa','Hùng','Hương','Khánh','Lan','Linh','Long','Mai','Minh','Nam','Ngân','Nga','Phúc','Phương','Quân','Sơn','Tâm','Thảo','Thắng','Thủy','Trang','Trung','Tuấn','Vân','Việt','Xuân','Yến','Lâm'])[1 + (g * 31) % 40],
       DATE '1940-01-01' + (g % 20000),
       h.id,
       DATE '1970-01-01' + (g % 20000),
       DATE '1971-01-01' + (g % 20000),
       (ARRAY['probationary','official','official','official','official','official','exempt','deceased'])[1 + g % 8],
       lpad(g::text, 8, '0'),
       (ARRAY['none','elementary','elementary','intermediate','intermediate','advanced'])[1 + g % 6]
FROM generate_series(1, 5600000) g JOIN holders h ON h.rn = 1 + g % (SELECT count(*) FROM holders);
ALTER TABLE members ENABLE TRIGGER members_count;
INSERT INTO organisation_member_counts (organisation_id, status, members)
SELECT organisation_id, status, count(*) FROM members GROUP BY 1, 2;
INSERT INTO member_events (id, member_id, type, "on", status_after, organisation_id, actor)
SELECT gen_random_uuid(), id, 'admitted', admitted_on, 'probationary', organisation_id, 'bench' FROM members;
INSERT INTO evaluations (id, organisation_id, year, grade)
SELECT gen_random_uuid(), id, 2024, (ARRAY['excellent','good','good','good','completed','not_completed'])[1 + (abs(hashtext(id::text)) % 6)]
FROM organisations WHERE kind IN ('base_committee', 'base_cell');
INSERT INTO member_evaluations (id, member_id, organisation_id, year, grade)
SELECT gen_random_uuid(), id, organisation_id, 2024, (ARRAY['excellent','good','good','good','good','completed','not_completed'])[1 + (abs(hashtext(id::text)) % 7)]
FROM members WHERE status IN ('probationary', 'official', 'exempt');
ALTER TABLE organisations ENABLE TRIGGER changes_record_insert_delete;
ALTER TABLE members ENABLE TRIGGER changes_record_insert_delete;
ALTER TABLE evaluations ENABLE TRIGGER changes_record_insert_delete;
ALTER TABLE member_evaluations ENABLE TRIGGER changes_record_insert_delete;
VACUUM ANALYZE;
SELECT (SELECT count(*) FROM organisations) orgs, (SELECT count(*) FROM members) members, (SELECT count(*) FROM member_events) events, (SELECT count(*) FROM member_evaluations) mevals;
