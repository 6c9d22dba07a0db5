#!/usr/bin/env bash
# What hostile requests cost everyone else: /healthz latency while a burst of sign-ins and the
# largest PATCHes the limits allow run at once, and memory around a burst of the most
# expensive filters allowed (bench/hostile.py). The failed-authentication
# budget is off, so the burst reaches the password checks from one address.
#   bench/hostile.sh                       # a release build of this tree
#   BENCH_SCIMD=path/to/scimd bench/hostile.sh   # another build, for a before/after
# Knobs: BENCH_SIGN_INS (150), BENCH_PATCHES (4), BENCH_FILTER_USERS (2000). Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
scimd=${BENCH_SCIMD:-target/release/scimd}
[ -n "${BENCH_SCIMD:-}" ] || cargo build --release --locked --bin scimd >&2
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SCIMD_DATABASE_URL=sqlite://$work/hostile.db SCIMD_LOG=warn
token=$("$scimd" token create --name hostile 2>/dev/null)
"$scimd" serve --listen "127.0.0.1:$port" --failed-auth-per-minute 0 --rate-limit-per-token 0 \
  >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
until "$scimd" healthcheck --listen "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.05; done
python3 bench/hostile.py "$port" "$token" "$server" "${BENCH_SIGN_INS:-150}" \
  "${BENCH_PATCHES:-4}" "${BENCH_FILTER_USERS:-2000}"
