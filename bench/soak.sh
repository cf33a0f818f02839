#!/usr/bin/env bash
# A bounded soak on loopback: builds the release binary, starts `releasedesk serve --demo` on a
# fresh database, and runs bench/soak.py (many users, mixed reads and writes) against it,
# printing errors, p99 and the server's RSS over time. Exits non-zero if the run did not hold.
#
#   bash bench/soak.sh                       # SQLite, 180 s, 24 developers + 2 deployers
#   SOAK_BACKEND=postgres bash bench/soak.sh # a fresh database on 127.0.0.1:5432
#   SOAK_SECONDS=600 SOAK_USERS=48 bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SOAK_SECONDS:-180}"
users="${SOAK_USERS:-24}"
backend="${SOAK_BACKEND:-sqlite}"
password="soak-demo-password-1"

cargo build --release --quiet
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
case "$backend" in
  sqlite) url="sqlite://$dir/soak.db" ;;
  postgres)
    db="rd_soak_$$"
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
    url="postgres://postgres@127.0.0.1:5432/$db" ;;
  *) echo "SOAK_BACKEND is sqlite or postgres" >&2; exit 2 ;;
esac

RELEASEDESK_LOG=warn target/release/releasedesk serve --demo --demo-password "$password" \
  --bind "127.0.0.1:$port" --database-url "$url" >"$dir/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$dir/server.log"; exit 1; }

echo "backend: $backend; $(nproc) cores; $(git rev-parse --short HEAD)"
python3 bench/soak.py --base "http://127.0.0.1:$port" --pid "$server" --password "$password" \
  --duration "$seconds" --users "$users"
