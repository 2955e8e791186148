#!/usr/bin/env bash
# Start a throwaway PostgreSQL (Debian packages) for the storage tests; prints the SQLAlchemy URL.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=/tmp/invaplan-ci-postgres
port=55432
if [ -f "$dir/data/postmaster.pid" ]; then
  su postgres -c "$bin/pg_ctl -D $dir/data stop -m fast" >/dev/null 2>&1 || true
fi
rm -rf "$dir" && mkdir -p "$dir" && chown postgres "$dir"
su postgres -c "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
su postgres -c "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1' start" >/dev/null
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
