#!/usr/bin/env bash
# scimd's benchmark: a release build on a loopback port, N seeded users, then wrk runs each
# operation for a fixed time and one table is printed: requests per second, p50 and p99
# latency, errors, the server's resident memory after the run, its CPU per request, and how
# busy the whole machine was (every core, every process: 100 means nothing was left).
#
#   bench/run.sh                         # 10,000 users, 10 s per operation, 16 connections
#   BENCH_USERS=100000 BENCH_DURATION=30 bench/run.sh
#   BENCH_DATABASE_URL=postgres://… bench/run.sh   # an empty PostgreSQL database
#   BENCH_DATABASE_URL=postgres://… BENCH_INSTANCES=2 bench/run.sh   # two instances sharing it
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

# One wrk per server origin, side by side, the connections shared out; one line: the summed
# rate, the mean p50, the worst p99, the summed errors.
loaded() {
  local operation=$1 origin_url index=0 shares
  local -a loaders=()
  shares=$(wc -w <<<"$origins")
  for origin_url in $origins; do
    index=$((index + 1))
    BENCH_RUN="$BENCH_RUN-$index" wrk -t "$THREADS" -c $((CONNECTIONS / shares)) -d "${DURATION}s" --latency \
      -s "bench/wrk/$operation.lua" "$origin_url" | awk '/^RESULT/ { print $2, $3, $4, $5 }' >"$work/wrk-$index" &
    loaders+=($!)
  done
  wait "${loaders[@]}"
  cat "$work"/wrk-* | awk '{ rate += $1; p50 += $2; if ($3 > p99) p99 = $3; errors += $4 }
    END { printf "%.0f %.2f %.2f %d\n", rate, p50 / NR, p99, errors }'
  rm -f "$work"/wrk-*
}

echo "scimd benchmark: $USERS users, ${DURATION}s per operation, $CONNECTIONS connections, $THREADS wrk threads"
echo "server: $name; start-up $startup; seeding ${USERS} users over SCIM took ${seed_ms} ms"
printf '%-8s %10s %9s %9s %7s %8s %11s %9s\n' operation "req/s" "p50 ms" "p99 ms" errors "RSS MB" \
  "CPU us/req" "machine%"
for operation in $OPERATIONS; do
  export BENCH_RUN=$operation-$RANDOM
  ticks_before=$(cpu_ticks)
  read -r machine_busy_before machine_total_before <<<"$(machine_ticks)"
  cpu_us=-
  result=$(loaded "$operation")
  read -r machine_busy machine_total <<<"$(machine_ticks)"
  machine_busy=$(( 100 * (machine_busy - machine_busy_before) / (machine_total - machine_total_before) ))
  read -r rate p50 p99 errors <<<"$result"
  [ -n "$servers" ] && cpu_us=$(awk -v ticks=$(( $(cpu_ticks) - ticks_before )) -v tick_us="$tick_us" -v rate="$rate" \
    -v seconds="$DURATION" 'BEGIN { printf "%.0f", ticks * tick_us / (rate * seconds) }')
  printf '%-8s %10s %9s %9s %7s %8s %11s %9s\n' "$operation" "$rate" "$p50" "$p99" "$errors" "$(rss_mb)" \
    "$cpu_us" "$machine_busy"
done
