# Sourced by .ci/run: starts a throw-away PostgreSQL cluster from the Debian binaries (initdb in
# a temp dir, a free loopback port), stops it at exit, and exports SCIMD_TEST_POSTGRES_URL.

postgres_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_throwaway_postgres() {
  local bin
  bin=$(postgres_bin)
  if [ -z "$bin" ]; then
    echo "installing PostgreSQL from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(postgres_bin)
  fi
  PG_DIR=$(mktemp -d)
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # initdb and postgres refuse to run as root: run them as the postgres system user.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$PG_DIR/initdb.log"
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_wal_size=128MB -c min_wal_size=32MB" start >/dev/null
  PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
  PG_BIN=$bin
  PG_PORT=$port
  # .ci/run stops everything it started in one exit trap; on its own this file sets its own.
  if declare -p CI_CLEANUPS >/dev/null 2>&1; then
    CI_CLEANUPS+=(stop_throwaway_postgres)
  else
    trap stop_throwaway_postgres EXIT
  fi
  export SCIMD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# fresh_postgres_url NAME: a new empty database on the throw-away cluster, as a URL.
fresh_postgres_url() {
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1"
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"
}

stop_throwaway_postgres() {
  "${PG_STOP[@]}" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
