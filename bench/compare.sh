#!/usr/bin/env bash
# scimd beside other SCIM servers, in one run: the same wrk scripts (bench/run.sh) against
# scimd and each peer in turn, round after round (the machine is shared and noisy: only
# figures taken side by side compare), then one table of requests per second per server and
# operation, and scimd's ratio to the best peer.
#
#   BENCH_PEERS=/path/to/peers bench/compare.sh
#   BENCH_PEERS=… BENCH_ROUNDS=3 BENCH_USERS=10000 BENCH_DURATION=5 bench/compare.sh
#   BENCH_PEERS=… BENCH_DATABASE_URL=postgres://… bench/compare.sh   # scimd on PostgreSQL
#   BENCH_PEERS=… BENCH_DATABASE_URL=postgres://… BENCH_INSTANCES=2 bench/compare.sh
#                                    # two scimd instances sharing it, 8 connections each
#
# BENCH_PEERS is a writable folder holding the peers and their scripts: `setup.sh` (installs
# them; run first unless BENCH_PEERS_READY=1) and `start_peers.sh start|stop TOKEN`, which serve
# SCIMMY on express at 127.0.0.1:18081/scim/v2 and python scim2-server under gunicorn at
# 127.0.0.1:18083/v2, each writing its process id to run/NAME.pid. A peer that does not answer
# is skipped with a message. Each peer is restarted before each of its runs, so every run
# starts from an empty directory, as scimd's does. 16 connections; everything on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BENCH_PEERS:?BENCH_PEERS: a writable folder with the setup.sh and start_peers.sh of the peers}"
ROUNDS=${BENCH_ROUNDS:-2}
OPERATIONS=${BENCH_OPERATIONS:-create filter get patch put list}
export BENCH_USERS=${BENCH_USERS:-10000} BENCH_DURATION=${BENCH_DURATION:-5} BENCH_CONNECTIONS=16
TOKEN=secret-token
# name and SCIM base URL of each peer start_peers.sh serves
PEERS=("scimmy http://127.0.0.1:18081/scim/v2" "scim2-gunicorn http://127.0.0.1:18083/v2")

log=$(mktemp -d)
results=$log/results.txt
trap '"$BENCH_PEERS/start_peers.sh" stop >/dev/null 2>&1 || true' EXIT

if [ "${BENCH_PEERS_READY:-0}" != 1 ]; then
  "$BENCH_PEERS/setup.sh" >"$log/setup.log" 2>&1 ||
    echo "compare: the peers' set-up failed ($log/setup.log); peers that do not start are skipped" >&2
fi
[ -n "${BENCH_SCIMD:-}" ] || cargo build --release --locked --bin scimd >&2
export BENCH_SCIMD=${BENCH_SCIMD:-target/release/scimd}

# `server operation req/s` lines from one bench/run.sh table.
collect() {
  awk -v server="$1" -v ops=" $OPERATIONS " \
    'index(ops, " " $1 " ") && $2 ~ /^[0-9.]+$/ { print server, $1, $2 }' >>"$results"
}

# scimd starts every run on an empty database, as the peers do: on PostgreSQL a new database
# per run on BENCH_DATABASE_URL's server (its user creates it with psql; dropped after).
scimd_run() {
  if [[ ${BENCH_DATABASE_URL:-} == postgres* ]]; then
    local database="scimd_compare_$$_$1"
    psql "$BENCH_DATABASE_URL" -qc "CREATE DATABASE $database" >&2
    BENCH_DATABASE_URL="${BENCH_DATABASE_URL%/*}/$database" BENCH_OPERATIONS="$OPERATIONS" bash bench/run.sh
    psql "$BENCH_DATABASE_URL" -qc "DROP DATABASE $database WITH (FORCE)" >&2
  else
    BENCH_OPERATIONS="$OPERATIONS" bash bench/run.sh
  fi
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS: scimd" >&2
  scimd_run "$round" | tee -a "$log/runs.txt" | collect scimd
  for peer in "${PEERS[@]}"; do
    read -r name url <<<"$peer"
    "$BENCH_PEERS/start_peers.sh" stop >/dev/null 2>&1 || true
    "$BENCH_PEERS/start_peers.sh" start "$TOKEN" >"$log/peers.log" 2>&1 || true
    if ! curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$url/Users?count=1"; then
      echo "compare: $name does not answer at $url; skipped this round (see $BENCH_PEERS/logs)" >&2
      continue
    fi
    echo "round $round of $ROUNDS: $name" >&2
    BENCH_BASE_URL=$url BENCH_TOKEN=$TOKEN BENCH_SERVER_PIDS=$(cat "$BENCH_PEERS/run/$name.pid") \
      BENCH_OPERATIONS="$OPERATIONS" bash bench/run.sh | tee -a "$log/runs.txt" | collect "$name"
  done
done

echo "scimd and peers, ${BENCH_USERS} users, ${BENCH_DURATION}s per operation, 16 connections, mean of $ROUNDS rounds (req/s)"
python3 - "$results" "$OPERATIONS" <<'EOF'
import sys
from collections import defaultdict

runs = defaultdict(list)
for line in open(sys.argv[1]):
    server, operation, rate = line.split()
    runs[(server, operation)].append(float(rate))
servers = ["scimd"] + sorted({s for s, _ in runs} - {"scimd"})
print(f"{'operation':<10}" + "".join(f"{s:>16}" for s in servers) + f"{'scimd/best peer':>17}")
for operation in sys.argv[2].split():
    means = {s: sum(r) / len(r) for s in servers if (r := runs.get((s, operation)))}
    peers = [rate for s, rate in means.items() if s != "scimd"]
    ratio = f"{means['scimd'] / max(peers):.1f}x" if peers and "scimd" in means else "-"
    cells = "".join(f"{means[s]:>16,.0f}" if s in means else f"{'-':>16}" for s in servers)
    print(f"{operation:<10}{cells}{ratio:>17}")
EOF
echo "every run's table: $log/runs.txt" >&2
