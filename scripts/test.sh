#!/usr/bin/env bash
# Runs the whole test suite against a throw-away PostgreSQL and Redis (started here, on free
# ports, in a temporary folder, removed on exit). Extra arguments go to pytest.
# Installs what it needs on a fresh Debian machine (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

if [ "$(id -u)" = 0 ]; then
  ensure_debian_packages postgresql redis-server chromium fonts-dejavu-core fonts-noto-cjk poppler-utils
  # CJK with TrueType outlines for the mileage / per-diem PDFs (Noto CJK's CFF outlines cannot be embedded).
  ensure_debian_packages fonts-droid-fallback
fi
bootstrap_python requirements-dev.txt

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export PATH="$PG_BIN:$PATH"
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d /tmp/timetracker-test.XXXXXX)
chmod 755 "$WORK"
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  local status=$?
  as_postgres pg_ctl -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
as_postgres initdb -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres pg_ctl -D "$WORK/pg" -l "$WORK/pg/server.log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
as_postgres createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres timetracker
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$WORK" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/timetracker"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DATA_DIR="$WORK/data"
export PG_BIN
echo "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT, data in $DATA_DIR"

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
# pytest exits 5 when it collected nothing: a run with no test is a failure here.
exit $status
