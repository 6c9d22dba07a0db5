#!/usr/bin/env bash
# scimd's benchmark: a release build on a loopback port, N seeded users, then wrk runs each
# operation for a fixed time and one table is printed: requests per second, p50 and p99
# latency, errors, and the server's resident memory after the run.
#
#   bench/run.sh                         # 10,000 users, 10 s per operation, 16 connections
#   BENCH_USERS=100000 BENCH_DURATION=30 bench/run.sh
#   BENCH_DATABASE_URL=postgres://… bench/run.sh   # an empty PostgreSQL database
#   BENCH_OPERATIONS="get filter" bench/run.sh       # only these operations
#   BENCH_SCIMD=/path/to/older/scimd bench/run.sh     # another build, for a before/after
#   BENCH_DATABASE_URL=sqlite://big.db BENCH_SEEDED_USERS=big-users.txt bench/run.sh
#                                    # a database seeded earlier (seed.py writes the list)
#   BENCH_BASE_URL=http://127.0.0.1:9000/scim/v2 BENCH_TOKEN=… BENCH_SERVER_PIDS="…" bench/run.sh
#                                    # another SCIM server, for a side-by-side run
#
# Needs wrk (Debian package `wrk`) and python3. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10}
OPERATIONS=${BENCH_OPERATIONS:-healthz create filter get patch put list}

source bench/lib.sh

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
