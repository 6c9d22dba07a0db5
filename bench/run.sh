#!/usr/bin/env bash
# scimd's benchmark: a release build on a loopback port, N seeded users, then wrk runs each
# operation for a fixed time and one table is printed: requests per second, p50 and p99
# latency, errors, and the server's resident memory after the run.
#
#   bench/run.sh                         # 10,000 users, 10 s per operation, 16 connections
#   BENCH_USERS=100000 BENCH_DURATION=30 bench/run.sh
#   BENCH_DATABASE_URL=postgres://… bench/run.sh   # an empty PostgreSQL database
#   BENCH_OPERATIONS="get filter" bench/run.sh       # only these operations
#   BENCH_BASE_URL=http://127.0.0.1:9000/scim/v2 BENCH_TOKEN=… BENCH_SERVER_PIDS="…" bench/run.sh
#                                    # another SCIM server, for a side-by-side run
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

work=$(mktemp -d)
export BENCH_USERS_FILE=$work/users.txt
export BENCH_WRK_DIR=$PWD/bench/wrk
if [ -n "${BENCH_BASE_URL:-}" ]; then
  # Another SCIM server, already running, measured by the same scripts.
  : "${BENCH_TOKEN:?BENCH_TOKEN: a bearer token for $BENCH_BASE_URL}"
  base=${BENCH_BASE_URL%/}
  origin=$(echo "$base" | sed -E 's#^(https?://[^/]+).*#\1#')
  export BENCH_BASE_PATH=${base#"$origin"}
  servers=${BENCH_SERVER_PIDS:-}
  OPERATIONS=${OPERATIONS//healthz/}
  trap 'rm -rf "$work"' EXIT
  startup="not measured"
  name=$base
else
  cargo build --release --locked --bin scimd >&2
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export SCIMD_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$work/bench.db}
  export SCIMD_LOG=warn
  # The per-token rate limit (default 1000/s) is off: the run measures what the server can do.
  target/release/scimd serve --listen "127.0.0.1:$port" --rate-limit-per-token 0 >"$work/server.log" 2>&1 &
  servers=$!
  trap 'kill $servers 2>/dev/null; wait $servers 2>/dev/null; rm -rf "$work"' EXIT
  started=$(date +%s%N)
  until target/release/scimd healthcheck --listen "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.05; done
  startup="$(( ($(date +%s%N) - started) / 1000000 )) ms"
  export BENCH_TOKEN=$(target/release/scimd token create --name "bench-$port" 2>/dev/null)
  origin="http://127.0.0.1:$port"
  export BENCH_BASE_PATH=/scim/v2
  base="$origin/scim/v2"
  name="scimd, database ${SCIMD_DATABASE_URL%%://*}"
fi
seed_started=$(date +%s%N)
python3 bench/seed.py "$base" "$BENCH_TOKEN" "$USERS" "$BENCH_USERS_FILE"
seed_ms=$(( ($(date +%s%N) - seed_started) / 1000000 ))

# Summed over the server's processes (BENCH_SERVER_PIDS for another server; "-" without).
rss_mb() {
  [ -n "$servers" ] || { echo -; return; }
  for pid in $servers; do cat "/proc/$pid/status"; done | awk '/VmRSS/ { kb += $2 } END { printf "%.0f", kb / 1024 }'
}
# The server's user + system CPU time so far, in clock ticks: CPU per request does not depend
# on what else the machine is doing, unlike req/s.
cpu_ticks() {
  [ -n "$servers" ] || { echo 0; return; }
  for pid in $servers; do cat "/proc/$pid/stat"; done | awk '{ ticks += $14 + $15 } END { print ticks }'
}
tick_us=$(( 1000000 / $(getconf CLK_TCK) ))

echo "scimd benchmark: $USERS users, ${DURATION}s per operation, $CONNECTIONS connections, $THREADS wrk threads"
echo "server: $name; start-up $startup; seeding ${USERS} users over SCIM took ${seed_ms} ms"
printf '%-8s %10s %9s %9s %7s %8s %11s\n' operation "req/s" "p50 ms" "p99 ms" errors "RSS MB" "CPU us/req"
for operation in $OPERATIONS; do
  export BENCH_RUN=$operation-$RANDOM
  ticks_before=$(cpu_ticks)
  cpu_us=-
  result=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
    -s "bench/wrk/$operation.lua" "$origin" | awk '/^RESULT/ { print $2, $3, $4, $5 }')
  read -r rate p50 p99 errors <<<"$result"
  [ -n "$servers" ] && cpu_us=$(awk -v ticks=$(( $(cpu_ticks) - ticks_before )) -v tick_us="$tick_us" -v rate="$rate" \
    -v seconds="$DURATION" 'BEGIN { printf "%.0f", ticks * tick_us / (rate * seconds) }')
  printf '%-8s %10s %9s %9s %7s %8s %11s\n' "$operation" "$rate" "$p50" "$p99" "$errors" "$(rss_mb)" "$cpu_us"
done
