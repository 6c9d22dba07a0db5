# Sourced by .ci/run: the third-party SCIM conformance suites (scim2-tester through scim2-cli,
# and scim-sanity) from PyPI in a venv, run against scimd on a free loopback port with a fresh
# database and token. Any failed check fails CI (see .ci/suites/run_scim2_tester.py for how the
# suite's value generator is told what the README argues).

SUITES_VENV=""
SCIMD_PID=""

install_conformance_suites() {
  SUITES_VENV=$(mktemp -d)/venv
  python3 -m venv "$SUITES_VENV"
  "$SUITES_VENV/bin/pip" install --quiet --disable-pip-version-check \
    --requirement .ci/suites/requirements.txt
}

stop_scimd() {
  if [ -n "$SCIMD_PID" ]; then
    kill "$SCIMD_PID" 2>/dev/null || true
    wait "$SCIMD_PID" 2>/dev/null || true
    SCIMD_PID=""
  fi
}

# run_conformance_suites NAME DATABASE_URL: scimd (target/debug) on that database.
run_conformance_suites() {
  local name=$1 database_url=$2 port base token log
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port/scim/v2"
  log=$(mktemp)
  export SCIMD_DATABASE_URL=$database_url
  target/debug/scimd serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
  SCIMD_PID=$!
  for _ in $(seq 50); do
    target/debug/scimd healthcheck --listen "127.0.0.1:$port" >/dev/null 2>&1 && break
    sleep 0.2
  done
  token=$(target/debug/scimd token create --name "suites-$name" 2>/dev/null)

  echo "--- scim-sanity probe ($name)"
  "$SUITES_VENV/bin/scim-sanity" probe "$base" --token "$token" --i-accept-side-effects --strict

  echo "--- scim2-tester: scim2 --url $base test ($name)"
  "$SUITES_VENV/bin/python" .ci/suites/run_scim2_tester.py \
    --url "$base" -h "Authorization: Bearer $token" test

  stop_scimd
  unset SCIMD_DATABASE_URL
}
