#!/usr/bin/env bash
# Soak test: scimd under a steady provisioning mix (bench/wrk/mixed.lua: reads, filters,
# PATCHes, creates) held at 70% of the peak it measures first, for SOAK_SECONDS (default 600),
# with the server's memory sampled every SOAK_SAMPLE seconds. Fails on any error or when memory
# keeps growing (the last quarter's peak more than 10% and 10 MB above the first quarter's).
#
#   bench/soak.sh
#   SOAK_SECONDS=120 BENCH_USERS=2000 bench/soak.sh
#
# Needs wrk and python3, like bench/run.sh. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${BENCH_USERS:-10000}
SECONDS_TOTAL=${SOAK_SECONDS:-600}
SAMPLE=${SOAK_SAMPLE:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
OPERATIONS=mixed
command -v wrk >/dev/null || { echo "soak: install wrk (apt-get install wrk)" >&2; exit 1; }

source bench/lib.sh

export BENCH_RUN=peak-$RANDOM
read -r peak _ <<<"$(wrk -t "$THREADS" -c "$CONNECTIONS" -d 10s -s bench/wrk/mixed.lua "$origin" |
  awk '/^RESULT/ { print $2 }')"
target=$(( peak * 7 / 10 ))
# Each connection waits this long between requests (wrk's delay()); the answer time comes on
# top, so the rate held is a little under the target.
export BENCH_DELAY_MS=$(( CONNECTIONS * 1000 / target ))
echo "soak: $name, $USERS users; peak of the mix ${peak} req/s, holding about ${target} req/s" \
  "(${BENCH_DELAY_MS} ms between requests on each of $CONNECTIONS connections) for ${SECONDS_TOTAL}s"

export BENCH_RUN=soak-$RANDOM
wrk -t "$THREADS" -c "$CONNECTIONS" -d "${SECONDS_TOTAL}s" --latency -s bench/wrk/mixed.lua "$origin" \
  >"$work/wrk.txt" &
load=$!
samples=()
printf '%8s %8s\n' seconds "RSS MB"
for (( elapsed = 0; elapsed < SECONDS_TOTAL; elapsed += SAMPLE )); do
  sleep "$SAMPLE"
  rss=$(rss_mb)
  samples+=("$rss")
  printf '%8s %8s\n' $(( elapsed + SAMPLE )) "$rss"
done
wait $load
read -r rate p50 p99 errors requests <<<"$(awk '/^RESULT/ { print $2, $3, $4, $5, $6 }' "$work/wrk.txt")"
echo "held ${rate} req/s ($(( rate * 100 / peak ))% of peak): ${requests} requests, p50 ${p50} ms," \
  "p99 ${p99} ms, ${errors} errors"

quarter=$(( (${#samples[@]} + 3) / 4 ))
first=$(printf '%s\n' "${samples[@]:0:$quarter}" | sort -n | tail -1)
last=$(printf '%s\n' "${samples[@]: -$quarter}" | sort -n | tail -1)
echo "memory: first quarter peak ${first} MB, last quarter peak ${last} MB"
status=0
[ "$errors" = 0 ] || { echo "soak: FAILED: $errors errors"; status=1; }
if (( last > first + 10 && last * 10 > first * 11 )); then
  echo "soak: FAILED: memory grew from ${first} MB to ${last} MB"
  status=1
fi
[ $status = 0 ] && echo "soak: passed"
exit $status
