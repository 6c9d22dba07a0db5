#!/usr/bin/env bash
# The change feed's figures (docs/performance.md), on a release build:
#  1. webhooks while creates run: a receiver on loopback (bench/receiver.py) subscribed, wrk
#     creates users for BENCH_DURATION seconds; prints events written per second, deliveries
#     per second while the creates ran, and how long the rest took to arrive after they ended;
#  2. the Events API: wrk reads pages of 1,000 events at random places in the feed; events per
#     second = pages per second x 1,000.
# What writing events costs a create is bench/run.sh against a build from before the change
# feed (BENCH_SCIMD), alternated: see docs/performance.md.
#
#   bench/events.sh                          # 10 s of creates, 16 connections
#   BENCH_DURATION=30 BENCH_DATABASE_URL=postgres://… bench/events.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10}
export BENCH_USERS=${BENCH_USERS:-1000}
# The receiver is on loopback.
export SCIMD_WEBHOOK_ALLOW_PRIVATE=true
[ -z "${BENCH_BASE_URL:-}" ] || { echo "bench/events.sh measures scimd itself" >&2; exit 1; }

source bench/lib.sh

python3 bench/receiver.py "$work/receiver.port" &
receiver=$!
trap 'kill $servers $receiver 2>/dev/null; wait $servers $receiver 2>/dev/null; rm -rf "$work"' EXIT
until [ -s "$work/receiver.port" ]; do sleep 0.05; done
receiver_url="http://127.0.0.1:$(cat "$work/receiver.port")"
"$scimd" webhook create --name bench --url "$receiver_url/hooks/scimd" >/dev/null 2>&1
received() { curl -s "$receiver_url/count" | cut -d' ' -f1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "scimd change feed: ${DURATION}s of creates, $CONNECTIONS connections, $THREADS wrk threads; $name"
export BENCH_RUN=feed-$RANDOM
ticks_before=$(cpu_ticks)
result=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
  -s bench/wrk/create.lua "$origin" | awk '/^RESULT/ { print $2, $6 }')
ended=$(now_ms)
at_end=$(received)
read -r create_rate created <<<"$result"
until [ "$(received)" -ge "$created" ]; do
  [ $(( $(now_ms) - ended )) -lt 120000 ] || { echo "bench: only $(received) of $created events arrived" >&2; exit 1; }
  sleep 0.05
done
drained=$(( $(now_ms) - ended ))
cpu_us=$(awk -v ticks=$(( $(cpu_ticks) - ticks_before )) -v tick_us="$tick_us" -v n="$created" \
  'BEGIN { printf "%.0f", ticks * tick_us / n }')
printf '%-34s %10s\n' "creates per second" "$create_rate"
printf '%-34s %10s\n' "deliveries per second (during)" "$(awk -v n="$at_end" -v s="$DURATION" 'BEGIN { printf "%.0f", n / s }')"
printf '%-34s %10s\n' "events delivered when creates ended" "$at_end of $created"
printf '%-34s %10s\n' "the rest arrived within (ms)" "$drained"
printf '%-34s %10s\n' "server CPU per create + delivery (us)" "$cpu_us"

events=$(( USERS + created ))
export SCIMD_ADMIN_PASSWORD="bench passphrase $RANDOM"
"$scimd" admin create bench@bench.example --role admin >/dev/null 2>&1
export BENCH_TOKEN=$("$scimd" admin key create bench@bench.example --name bench 2>/dev/null)
export BENCH_EVENTS=$events
ticks_before=$(cpu_ticks)
result=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
  -s bench/wrk/events.lua "$origin" | awk '/^RESULT/ { print $2, $3, $4, $5 }')
read -r pages p50 p99 errors <<<"$result"
cpu_us=$(awk -v ticks=$(( $(cpu_ticks) - ticks_before )) -v tick_us="$tick_us" -v rate="$pages" \
  -v seconds="$DURATION" 'BEGIN { printf "%.0f", ticks * tick_us / (rate * seconds) }')
printf '%-34s %10s\n' "Events API pages of 1000 per second" "$pages"
printf '%-34s %10s\n' "Events API events per second" "$(awk -v p="$pages" 'BEGIN { printf "%.0f", p * 1000 }')"
printf '%-34s %10s\n' "  p50 / p99 ms, errors" "$p50 / $p99, $errors"
printf '%-34s %10s\n' "  server CPU per page (us)" "$cpu_us"
