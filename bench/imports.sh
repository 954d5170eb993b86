#!/usr/bin/env bash
# Times a members import of ROWS rows (default 100,000) against a release build, through the command line and
# through HTTP, and reports the wall time and the peak memory (VmHWM) of the process that imported.
#
#   cargo build --release && bash bench/imports.sh            # ROWS=10000 bash bench/imports.sh for a smaller file
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), python3 and curl. Creates and drops the databases
# pb_bench_imports and pb_bench_imports_http.
set -euo pipefail
cd "$(dirname "$0")/.."

rows="${ROWS:-100000}"
server="postgres://postgres@127.0.0.1:5432"
export PGOPTIONS="--client-min-messages=warning"
binary="${CARGO_TARGET_DIR:-target}/release/partybase"
[ -x "$binary" ] || { echo "imports: build the release binary first (cargo build --release)" >&2; exit 1; }
work="$(mktemp -d)"
port=18090
cleanup() {
    [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
    for db in pb_bench_imports pb_bench_imports_http; do
        psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A district of 20 communes with 5 cells each, and ROWS members spread over the 100 cells (a tenth of them official
# already), with unique card numbers and national ids and Vietnamese names.
python3 - "$work" "$rows" <<'EOF'
import random, sys
work, rows = sys.argv[1], int(sys.argv[2])
random.seed(7)
with open(f"{work}/organisations.csv", "w", encoding="utf-8") as f:
    f.write("code,name,kind,sector,parent_code\n")
    f.write("B,Huyện ủy Thử Nghiệm,superior_committee,,\n")
    for c in range(20):
        f.write(f"B-{c},Đảng bộ xã Số {c},base_committee,commune,B\n")
        for k in range(5):
            f.write(f"B-{c}-{k},Chi bộ Khu {k},cell,,B-{c}\n")
family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hà"]
middle = ["Văn", "Thị", "Hữu", "Đức", "Thanh", "Minh", "Ngọc"]
given = ["An", "Bình", "Cúc", "Dũng", "Hà", "Lan", "Minh", "Nam", "Phương", "Sơn", "Tâm", "Yến"]
with open(f"{work}/members.csv", "w", encoding="utf-8") as f:
    f.write("\ufefffull_name,gender,birth_date,organisation_code,admitted_on,status,official_on,card_number,"
            "national_id,ethnicity,religion,hometown,education_level,qualification,political_theory,note\r\n")
    for i in range(rows):
        year = random.randint(1950, 1995)
        admitted = random.randint(year + 19, 2024)
        official = random.random() < 0.1
        f.write(",".join([
            f"{random.choice(family)} {random.choice(middle)} {random.choice(given)}",
            random.choice(["male", "female"]),
            f"{year}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
            f"B-{random.randrange(20)}-{random.randrange(5)}",
            f"{admitted}-03-15",
            "official" if official else "",
            f"{admitted + 1}-04-01" if official else "",
            f"{10000000 + i}",
            f"{100000000000 + i}",
            "Kinh", "Không", "\"Thanh Sơn, Phú Thọ\"", "12/12", "", "elementary", "",
        ]) + "\r\n")
EOF
echo "members.csv: $rows rows, $(du -h "$work/members.csv" | cut -f1)"

for db in pb_bench_imports pb_bench_imports_http; do
    psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done
DATABASE_URL="$server/pb_bench_imports" RUST_LOG=warn "$binary" migrate >/dev/null
DATABASE_URL="$server/pb_bench_imports" RUST_LOG=warn "$binary" import organisations "$work/organisations.csv"
psql "$server/postgres" -qc "CREATE DATABASE pb_bench_imports_http TEMPLATE pb_bench_imports" >/dev/null

# 1. The command line, which streams the file from disk.
DATABASE_URL="$server/pb_bench_imports" RUST_LOG=warn /usr/bin/time -f "%e %M" -o "$work/time" \
    "$binary" import members "$work/members.csv"
read -r seconds kib < "$work/time"
echo "command line: $seconds s, peak RSS $((kib / 1024)) MiB"

# 2. HTTP: the file is the request body (held whole, up to 32 MiB); the server's peak RSS is read after.
secret="$(DATABASE_URL="$server/pb_bench_imports_http" RUST_LOG=warn "$binary" token create --name bench --role admin | tail -n 1)"
DATABASE_URL="$server/pb_bench_imports_http" PARTYBASE_BIND="127.0.0.1:$port" RUST_LOG=warn "$binary" serve &
serve_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
before="$(grep VmHWM /proc/$serve_pid/status | awk '{print $2}')"
curl -s -o "$work/answer.json" -w "HTTP %{http_code} in %{time_total} s\n" \
    -H "Authorization: Bearer $secret" -H "Content-Type: text/csv" \
    --data-binary "@$work/members.csv" "http://127.0.0.1:$port/api/v1/imports/members"
after="$(grep VmHWM /proc/$serve_pid/status | awk '{print $2}')"
echo "answer: $(head -c 200 "$work/answer.json")"
echo "server peak RSS: $((before / 1024)) MiB before, $((after / 1024)) MiB after"
psql "$server/pb_bench_imports_http" -Atc \
    "SELECT count(*) || ' members, ' || (SELECT count(*) FROM member_events) || ' history entries, ' \
     || (SELECT count(*) FROM audit_events WHERE import_id IS NOT NULL) || ' audit records' FROM members"
