#!/bin/sh
# Make sure a PostgreSQL answers for the test suite (tests that need one fail, never skip).
#
# 1. If one answers at $PGHOST:$PGPORT (default 127.0.0.1:5432), use it.
# 2. Otherwise start a private cluster: initdb + pg_ctl in a folder under .cache/ (trust auth,
#    127.0.0.1 only), installing Debian's postgresql package first when the binaries are
#    missing (../shared/notes/deps.md §6). It keeps running for later runs; `make clean` stops
#    nothing, `scripts/ensure-postgres.sh stop` does.
set -eu
HOST=${PGHOST:-127.0.0.1}
PORT=${PGPORT:-5432}
DIR=${INTERLOCK_PG_DIR:-$(pwd)/.cache/postgres}

if [ "${1:-}" = stop ]; then
  [ -f "$DIR/data/postmaster.pid" ] && pg_ctl_bin=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1) && \
    su postgres -s /bin/sh -c "$pg_ctl_bin -D '$DIR/data' stop -m fast" || true
  exit 0
fi

if pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; then
  exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "no PostgreSQL answers at $HOST:$PORT and none is installed: installing Debian's postgresql"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql > /dev/null
  bindir=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
fi

echo "no PostgreSQL answers at $HOST:$PORT: starting a private cluster in $DIR"
mkdir -p "$DIR"
# initdb refuses to run as root: the cluster belongs to the postgres user when we are root.
if [ "$(id -u)" -eq 0 ]; then
  id postgres > /dev/null 2>&1 || useradd --system --home-dir "$DIR" postgres
  chown -R postgres "$DIR"
  as_pg() { su postgres -s /bin/sh -c "$*"; }
else
  as_pg() { sh -c "$*"; }
fi
if [ ! -f "$DIR/data/PG_VERSION" ]; then
  as_pg "$bindir/initdb -D '$DIR/data' -A trust -U postgres > '$DIR/initdb.log'"
fi
as_pg "$bindir/pg_ctl -D '$DIR/data' -l '$DIR/server.log' -w -o \"-c listen_addresses=$HOST -c port=$PORT -c unix_socket_directories='$DIR'\" start"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pg_isready -q -h "$HOST" -p "$PORT" && break
  sleep 1
done
pg_isready -h "$HOST" -p "$PORT"
psql -h "$HOST" -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 || \
  psql -h "$HOST" -p "$PORT" -U postgres -qc "CREATE DATABASE test"
