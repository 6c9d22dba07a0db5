# Sourced by bench/run.sh and bench/soak.sh: starts scimd (release build, free loopback port,
# fresh database) or points at another SCIM server (BENCH_BASE_URL), seeds BENCH_USERS users
# over SCIM, and defines rss_mb and cpu_ticks for the server's processes (machine_ticks for
# the whole machine). The knobs both
# scripts share are read here.

USERS=${BENCH_USERS:-10000}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
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
  origins=$origin
  OPERATIONS=${OPERATIONS//healthz/}
  trap 'rm -rf "$work"' EXIT
  startup="not measured"
  name=$base
else
  # BENCH_SCIMD: another build of scimd to measure (an older commit, for a before/after).
  scimd=${BENCH_SCIMD:-target/release/scimd}
  [ -n "${BENCH_SCIMD:-}" ] || cargo build --release --locked --bin scimd >&2
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export SCIMD_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$work/bench.db}
  export SCIMD_LOG=warn
  # The per-token rate limit (default 1000/s) is off: the run measures what the server can do.
  "$scimd" serve --listen "127.0.0.1:$port" --rate-limit-per-token 0 >"$work/server.log" 2>&1 &
  servers=$!
  trap 'kill $servers 2>/dev/null; wait $servers 2>/dev/null; rm -rf "$work"' EXIT
  started=$(date +%s%N)
  until "$scimd" healthcheck --listen "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.05; done
  startup="$(( ($(date +%s%N) - started) / 1000000 )) ms"
  origins="http://127.0.0.1:$port"
  # BENCH_INSTANCES=2: a second instance on the same database (PostgreSQL), each given half
  # of the connections by its own wrk; the table sums their rates.
  if [ "${BENCH_INSTANCES:-1}" = 2 ]; then
    port2=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$scimd" serve --listen "127.0.0.1:$port2" --rate-limit-per-token 0 >"$work/server2.log" 2>&1 &
    servers="$servers $!"
    until "$scimd" healthcheck --listen "127.0.0.1:$port2" >/dev/null 2>&1; do sleep 0.05; done
    origins="$origins http://127.0.0.1:$port2"
  fi
  export BENCH_TOKEN=$("$scimd" token create --name "bench-$port" 2>/dev/null)
  origin="http://127.0.0.1:$port"
  export BENCH_BASE_PATH=/scim/v2
  base="$origin/scim/v2"
  name="scimd, database ${SCIMD_DATABASE_URL%%://*}, ${BENCH_INSTANCES:-1} instance(s)"
fi
if [ -n "${BENCH_SEEDED_USERS:-}" ]; then
  # A database seeded before (BENCH_DATABASE_URL) and the `id userName` list written then:
  # a million users take minutes to create over SCIM.
  export BENCH_USERS_FILE=$BENCH_SEEDED_USERS
  USERS=$(wc -l <"$BENCH_USERS_FILE")
  seed_ms=0
else
  seed_started=$(date +%s%N)
  python3 bench/seed.py "$base" "$BENCH_TOKEN" "$USERS" "$BENCH_USERS_FILE"
  seed_ms=$(( ($(date +%s%N) - seed_started) / 1000000 ))
fi

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
# The whole machine's busy and total clock ticks so far (all cores, /proc/stat): how close a
# run came to using every core, whichever process used them (the server, its database, wrk).
machine_ticks() {
  awk '/^cpu / { total = 0; for (i = 2; i <= NF; i++) total += $i; print total - $5 - $6, total }' /proc/stat
}
