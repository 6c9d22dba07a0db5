#!/usr/bin/env bash
# scimd's benchmark: a release build on a loopback port, N seeded users, then wrk runs each
# operation for a fixed time and one table is printed: requests per second, p50 and p99
# latency, errors, and the server's resident memory after the run.
#
#   bench/run.sh                         # 10,000 users, 10 s per operation, 16 connections
#   BENCH_USERS=100000 BENCH_DURATION=30 bench/run.sh
#   BENCH_DATABASE_URL=postgres://… bench/run.sh   # an empty PostgreSQL database
#   BENCH_OPERATIONS="get filter" bench/run.sh       # only these operations
#
# Needs wrk (Debian package `wrk`) and python3. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${BENCH_USERS:-10000}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
OPERATIONS=${BENCH_OPERATIONS:-healthz create filter get patch put list}
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 1; }

cargo build --release --locked --bin scimd >&2
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SCIMD_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$work/bench.db}
export SCIMD_LOG=warn
# The per-token rate limit (default 1000/s) is off: the run measures what the server can do.
target/release/scimd serve --listen "127.0.0.1:$port" --rate-limit-per-token 0 >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
started=$(date +%s%N)
until target/release/scimd healthcheck --listen "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.05; done
startup_ms=$(( ($(date +%s%N) - started) / 1000000 ))

export BENCH_TOKEN=$(target/release/scimd token create --name "bench-$port" 2>/dev/null)
export BENCH_USERS_FILE=$work/users.txt
export BENCH_WRK_DIR=$PWD/bench/wrk
base="http://127.0.0.1:$port/scim/v2"
seed_started=$(date +%s%N)
python3 bench/seed.py "$base" "$BENCH_TOKEN" "$USERS" "$BENCH_USERS_FILE"
seed_ms=$(( ($(date +%s%N) - seed_started) / 1000000 ))

rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
# The server's user + system CPU time so far, in clock ticks: CPU per request does not depend
# on what else the machine is doing, unlike req/s.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
tick_us=$(( 1000000 / $(getconf CLK_TCK) ))

echo "scimd benchmark: $USERS users, ${DURATION}s per operation, $CONNECTIONS connections, $THREADS wrk threads"
echo "database: ${SCIMD_DATABASE_URL%%://*}; start-up ${startup_ms} ms; seeding ${USERS} users over SCIM took ${seed_ms} ms"
printf '%-8s %10s %9s %9s %7s %8s %11s\n' operation "req/s" "p50 ms" "p99 ms" errors "RSS MB" "CPU us/req"
for operation in $OPERATIONS; do
  export BENCH_RUN=$operation-$RANDOM
  ticks_before=$(cpu_ticks)
  result=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
    -s "bench/wrk/$operation.lua" "http://127.0.0.1:$port" | awk '/^RESULT/ { print $2, $3, $4, $5 }')
  read -r rate p50 p99 errors <<<"$result"
  cpu_us=$(awk -v ticks=$(( $(cpu_ticks) - ticks_before )) -v tick_us="$tick_us" -v rate="$rate" \
    -v seconds="$DURATION" 'BEGIN { printf "%.0f", ticks * tick_us / (rate * seconds) }')
  printf '%-8s %10s %9s %9s %7s %8s %11s\n' "$operation" "$rate" "$p50" "$p99" "$errors" "$(rss_mb)" "$cpu_us"
done
