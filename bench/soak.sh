#!/usr/bin/env bash
# Soak test: scimd under a steady provisioning mix (bench/wrk/mixed.lua: reads, filters,
# PATCHes, creates) held at 70% of the peak it measures first (16 connections flat out), on
# SOAK_CONNECTIONS paced connections (default 128), for SOAK_SECONDS (default 600),
# with the server's memory sampled every SOAK_SAMPLE seconds. Fails on any error or when memory
# keeps growing (the last quarter's peak more than 10% and 10 MB above the first quarter's).
#
#   bench/soak.sh
#   SOAK_SECONDS=120 BENCH_USERS=2000 bench/soak.sh
#
# Needs wrk and python3, like bench/run.sh. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TOTAL=${SOAK_SECONDS:-600}
SAMPLE=${SOAK_SAMPLE:-10}
OPERATIONS=mixed

source bench/lib.sh

export BENCH_RUN=peak-$RANDOM
read -r peak peak_p50 _ <<<"$(wrk -t "$THREADS" -c "$CONNECTIONS" -d 10s -s bench/wrk/mixed.lua "$origin" |
  awk '/^RESULT/ { print $2, $3 }')"
target=$(( peak * 7 / 10 ))
# The rate is held by pacing: each of PACED connections waits BENCH_DELAY_MS (wrk's delay(),
# whole milliseconds) between an answer and its next request, so one connection sends one
# request per delay + answer time. Many connections with a long delay make each millisecond
# of rounding a small step (about 3% with 128), where 16 with a short one missed by 10%.
PACED=${SOAK_CONNECTIONS:-128}
export BENCH_DELAY_MS=$(awk -v c="$PACED" -v t="$target" -v p50="$peak_p50" \
  'BEGIN { d = c * 1000 / t - p50; printf "%d", (d < 1 ? 1 : d + 0.5) }')
echo "soak: $name, $USERS users; peak of the mix ${peak} req/s, holding about ${target} req/s" \
  "(${BENCH_DELAY_MS} ms between requests on each of $PACED connections) for ${SECONDS_TOTAL}s"

export BENCH_RUN=soak-$RANDOM
wrk -t "$THREADS" -c "$PACED" -d "${SECONDS_TOTAL}s" --latency -s bench/wrk/mixed.lua "$origin" \
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
