#!/usr/bin/env bash
# Services for the il2sim serve tests (called by `make test`):
#   * Debian's chromium (browser tests), installed with apt-get when missing and we are root;
#   * a private PostgreSQL server on 127.0.0.1:PORT (trust auth, throwaway test data in DIR),
#     from Debian's postgresql package, installed when missing and we are root.
# Never fails the build: without a service the matching tests skip with a printed reason
# (under CI=true they fail instead, so CI always runs them).
set -u
port="${1:-55432}"
dir="${2:-/tmp/il2sim-pgtest-$port}"

is_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
  is_root && command -v apt-get >/dev/null || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 && return 0
  apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1
}

if [ ! -x /usr/bin/chromium ]; then
  echo "serve tests: installing Debian chromium"
  apt_install chromium || echo "serve tests: browser tests will SKIP: /usr/bin/chromium missing and cannot apt-get install chromium (not root?)"
fi

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin="$(pg_bin)"
if [ -z "$bin" ]; then
  echo "serve tests: installing Debian postgresql"
  apt_install postgresql || true
  bin="$(pg_bin)"
fi
if [ -z "$bin" ]; then
  echo "serve tests: PostgreSQL tests will SKIP: no PostgreSQL server and cannot apt-get install postgresql (not root?)"
  exit 0
fi
if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "serve tests: PostgreSQL already running on 127.0.0.1:$port"
  exit 0
fi
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -s "$dir/PG_VERSION" ]; then
  rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
  is_root && chown postgres:postgres "$dir"
  as_pg "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 >/dev/null || {
    echo "serve tests: PostgreSQL tests will SKIP: initdb failed in $dir"; exit 0; }
fi
if as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir" start >/dev/null; then
  echo "serve tests: PostgreSQL started on 127.0.0.1:$port (data in $dir)"
else
  echo "serve tests: PostgreSQL tests will SKIP: the server did not start (see $dir/server.log)"
fi
exit 0
