#!/usr/bin/env bash
# A full directory walk, as an IdP's import or reconciliation does it: every user of a seeded
# directory by index paging and by RFC 9865 cursor (pages of 100, one connection), for all
# users, `active eq true` and `sortBy=userName`; then single pages far into the directory
# (startIndex near the end, and in the middle), each asked 100 times, and 100 pages at random
# startIndex (the same ones every run). One line per walk: pages, users, seconds, the server's
# CPU per page and its resident memory after the walk.
#
#   BENCH_DATABASE_URL=sqlite://big.db BENCH_SEEDED_USERS=big-users.txt bench/walk.sh
#   BENCH_WALKS="index cursor" …  # only these walks (index cursor active sorted far jumps)
#
# Seed the directory once (a million users take about five minutes), with the server running:
#   python3 bench/seed.py http://127.0.0.1:8080/scim/v2 TOKEN 1000000 big-users.txt
set -euo pipefail
cd "$(dirname "$0")/.."

WALKS=${BENCH_WALKS:-index cursor active sorted far jumps}
source bench/lib.sh

walk() {
  local name=$1; shift
  local ticks_before result pages users seconds
  ticks_before=$(cpu_ticks)
  result=$(python3 bench/walk.py "$base" "$BENCH_TOKEN" "$@")
  read -r pages users seconds <<<"$result"
  printf '%-42s %7s %9s %9s %13s %7s\n' "$name" "$pages" "$users" "$seconds" \
    "$(awk -v ticks=$(( $(cpu_ticks) - ticks_before )) -v tick_us="$tick_us" -v pages="$pages" \
      'BEGIN { printf "%.0f", ticks * tick_us / pages }')" "$(rss_mb)"
}

echo "scimd directory walk: $USERS users; server: $name"
printf '%-42s %7s %9s %9s %13s %7s\n' walk pages users seconds "CPU us/page" "RSS MB"
for kind in $WALKS; do
  case $kind in
    index) walk "startIndex, all users" index ;;
    cursor) walk "cursor, all users" cursor ;;
    active) walk "startIndex, active eq true" index "filter=active%20eq%20true"
            walk "cursor, active eq true" cursor "filter=active%20eq%20true" ;;
    sorted) walk "startIndex, sortBy=userName" index "sortBy=userName"
            walk "cursor, sortBy=userName" cursor "sortBy=userName" ;;
    far) for start in $(( USERS - 99 )) $(( USERS / 2 )); do
           walk "startIndex=$start, x100" repeat "$start" 100
           walk "startIndex=$start sortBy=userName, x100" repeat "$start" 100 "sortBy=userName"
         done ;;
    jumps) walk "100 random startIndex" jumps 100
           walk "100 random startIndex, sortBy=userName" jumps 100 "sortBy=userName"
           walk "100 random, sortBy=userName descending" jumps 100 "sortBy=userName&sortOrder=descending"
           walk "100 random, active eq true sortBy=userName" jumps 100 \
             "filter=active%20eq%20true&sortBy=userName" ;;
    *) echo "walk: unknown walk $kind" >&2; exit 1 ;;
  esac
done
