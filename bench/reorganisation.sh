#!/usr/bin/env bash
# A province-scale reorganisation on the national dataset (see national.sql and README.md, "Tree through time"):
# the 2025 reform of RESTRUCTURE provinces (new commune committees directly under the province, every base
# organisation of the province moved under one of them with its cells, the districts ended with the communes as
# their successors) and the merger of cells in pairs (every current member of one cell transferred to its sibling)
# in as many provinces as it takes to move about MEMBERS members. The body is POSTed once with ?dry_run=true and
# once for real to a release server; the script prints the wall time of each, the server's resident memory and the
# counts.
#
# The real run commits, so it runs on a copy: CREATE DATABASE $DB TEMPLATE $SOURCE (no one may be connected to
# $SOURCE meanwhile), dropped at the end unless KEEP=1 (keep it to read the tree as of a day before the reform).
#
#   CARGO_TARGET_DIR=/work/main/target cargo build --release
#   bench/reorganisation.sh            # SOURCE=pb_national DB=pb_national_reorg RESTRUCTURE=2 MEMBERS=250000
set -euo pipefail

SOURCE=${SOURCE:-pb_national}
DB=${DB:-pb_national_reorg}
RESTRUCTURE=${RESTRUCTURE:-2}      # provinces whose districts give way to communes
PER_COMMUNE=${PER_COMMUNE:-10}     # base organisations per new commune committee
MEMBERS=${MEMBERS:-250000}         # about how many members the cell mergers transfer
EFFECTIVE_ON=${EFFECTIVE_ON:-2025-07-01}
PORT=${PORT:-8099}
KEEP=${KEEP:-0}
APPLY=${APPLY:-1}                  # 0: the dry run only
SETTINGS=${SETTINGS:-}             # e.g. "log_min_duration_statement=0": ALTER DATABASE $DB SET each, to profile
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/partybase}
PG=${PG:-"-h 127.0.0.1 -U postgres"}
WORK=$(mktemp -d /tmp/reorganisation.XXXXXX)
export DATABASE_URL="postgres://postgres@localhost:5432/$DB"

psql_() { psql $PG -v ON_ERROR_STOP=1 -X -q "$@"; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
memory() { awk '/^VmRSS|^VmHWM/ { printf "%s %d MiB  ", $1, $2 / 1024 }' "/proc/$SERVER/status"; }

SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    if [ "$KEEP" != 1 ]; then
        psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB" || true
    fi
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "no release binary at $BIN: build it first" >&2; exit 1; }

t0=$(now)
psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB TEMPLATE $SOURCE"
echo "copy of $SOURCE as $DB: $(seconds "$t0" "$(now)") s"
for setting in $SETTINGS; do psql_ -d postgres -c "ALTER DATABASE $DB SET ${setting%%=*} = '${setting#*=}'"; done
psql_ -d "$DB" -c "ANALYZE"

# The body, built from the tree as it is. Provinces, districts and base organisations are taken in code order.
psql_ -d "$DB" -At -o "$WORK/body.json" \
    -v restructure="$RESTRUCTURE" -v per_commune="$PER_COMMUNE" -v members="$MEMBERS" -v effective_on="$EFFECTIVE_ON" <<'SQL'
WITH provinces AS (
    SELECT p.id, p.path, row_number() OVER (ORDER BY p.code) AS rn
    FROM organisations p JOIN organisations r ON r.id = p.parent_id AND r.parent_id IS NULL
),
districts AS (
    SELECT d.id, d.code, p.id AS province_id
    FROM provinces p JOIN organisations d ON d.parent_id = p.id
    WHERE p.rn <= :restructure AND d.kind = 'superior_committee'
),
bases AS (
    SELECT b.id, d.id AS district_id,
           'X-' || d.code || '-' || (1 + (row_number() OVER (PARTITION BY d.id ORDER BY b.code) - 1) / :per_commune)
               AS commune
    FROM districts d JOIN organisations b ON b.parent_id = d.id
),
communes AS (
    SELECT DISTINCT b.commune, b.district_id, d.province_id FROM bases b JOIN districts d ON d.id = b.district_id
),
-- Sibling cells (and the base cells of one district) in pairs: the first of each pair is merged into the second.
holders AS (
    SELECT o.id, p.rn AS province, row_number() OVER w AS n, lead(o.id) OVER w AS next_id
    FROM provinces p JOIN organisations o ON o.path <@ p.path
    WHERE o.kind IN ('cell', 'base_cell')
    WINDOW w AS (PARTITION BY o.parent_id, o.kind ORDER BY o.code)
),
pairs AS (
    SELECT h.id, h.next_id, h.province,
           coalesce((SELECT sum(c.members) FROM organisation_member_counts c
                     WHERE c.organisation_id = h.id AND c.status IN ('probationary', 'official', 'exempt')), 0) AS m
    FROM holders h WHERE h.n % 2 = 1 AND h.next_id IS NOT NULL
),
transfers AS (
    SELECT id, next_id, sum(m) OVER (ORDER BY province, id) - m AS before FROM pairs
)
SELECT json_build_object(
    'decision_number', 'BENCH-2025/TW',
    'decided_on', date :'effective_on' - 10,
    'effective_on', date :'effective_on',
    'note', 'Benchmark: districts give way to communes; cells merged in pairs',
    'create', (SELECT coalesce(json_agg(json_build_object(
                   'ref', commune, 'code', commune, 'name', 'Đảng bộ xã ' || commune,
                   'kind', 'superior_committee', 'sector', 'commune', 'parent_id', province_id)
                   ORDER BY commune), '[]') FROM communes),
    'move', (SELECT coalesce(json_agg(json_build_object('organisation_id', id, 'to_parent_ref', commune)
                 ORDER BY commune, id), '[]') FROM bases),
    'transfer_members', (SELECT coalesce(json_agg(json_build_object(
                             'from_organisation_id', id, 'to_organisation_id', next_id) ORDER BY id), '[]')
                         FROM transfers WHERE before < :members),
    'end', (SELECT coalesce(json_agg(id ORDER BY code), '[]') FROM districts),
    'successors', (SELECT coalesce(json_agg(json_build_object('organisation_id', district_id, 'successor_ref', commune)
                       ORDER BY district_id, commune), '[]') FROM communes))
SQL
jq -r '"body: \(.create | length) created, \(.move | length) moved, \(.transfer_members | length) transfers, \(.end | length) ended, \(.successors | length) successor links; " ' "$WORK/body.json" | tr -d '\n'
echo "$(stat -c %s "$WORK/body.json") bytes"

TOKEN=$("$BIN" token create --name reorganisation-bench --role admin | tail -n 1)
PARTYBASE_BIND=127.0.0.1:$PORT PARTYBASE_RATE_LIMIT=100000 RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.2
done
echo "server $SERVER up: $(memory)"

post() { # $1: query string, $2: label
    local start status
    start=$(now)
    status=$(curl -s -o "$WORK/$2.json" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/v1/reorganisations$1" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @"$WORK/body.json" \
        --max-time 900)
    echo "$2: HTTP $status in $(seconds "$start" "$(now)") s; $(memory)"
    if [ "$status" -ge 300 ]; then
        jq -c '{title, detail, errors: (.errors // [])[:5]}' "$WORK/$2.json" 2>/dev/null || head -c 2000 "$WORK/$2.json"
        return 1
    fi
    echo "  summary $(jq -c .summary "$WORK/$2.json"), response $(stat -c %s "$WORK/$2.json") bytes"
}

post '?dry_run=true' dry-run
[ "$APPLY" = 1 ] || exit 0
post '' applied
psql_ -d "$DB" -At -F ' ' -c "SELECT 'versions', count(*) FILTER (WHERE reorganisation_id IS NOT NULL), count(*) FROM organisation_versions" \
    -c "SELECT 'transferred history entries', count(*) FROM member_events WHERE type = 'transferred'"
echo "server log: $(grep -c . "$WORK/server.log") lines (warnings and errors only) in $WORK/server.log"
