#!/usr/bin/env bash
# Validates the JSON API's OpenAPI document (openapi-spec-validator) and fuzzes the API against
# it with schemathesis (both from PyPI, pinned):
# a demo server on the database given (SQLite or PostgreSQL), a write token made with
# `releasedesk token create`, every check but positive_data_acceptance (the API's rules refuse
# values no schema can describe, such as "Nothing changed since v2"), a fixed seed so a run can
# be replayed, and one worker (two threads tripped CPython 3.11's "AST constructor recursion
# depth mismatch" inside schemathesis once in four runs). Fails on any 5xx, any answer that does not match its schema, any undeclared
# status or content type, and any check schemathesis reports.
#
#   .ci/api-fuzz.sh sqlite|postgres BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
backend="$1"
bin="$2"
venv=target/ci-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis==4.32.5' 'openapi-spec-validator==0.9.0'
fi

work=$(mktemp -d)
port=$((18100 + RANDOM % 800))
case "$backend" in
  sqlite) url="sqlite://$work/fuzz.db" ;;
  postgres)
    db="rd_fuzz_$$"
    admin="${RELEASEDESK_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    psql -q "$admin" -c "CREATE DATABASE $db"
    url="${admin%/*}/$db"
    ;;
  *) echo "usage: $0 sqlite|postgres BINARY" >&2; exit 2 ;;
esac

server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ "$backend" = postgres ] && psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  rm -rf "$work"
}
trap cleanup EXIT

RELEASEDESK_DEMO_PASSWORD="fuzz-$RANDOM-$RANDOM" RELEASEDESK_API_RATE_LIMIT=1000000 \
  "$bin" serve --demo --database-url "$url" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
token=$("$bin" token create --database-url "$url" --username alice --name fuzz --scope write)

# The document itself first: valid OpenAPI 3.1 (unique operation ids, resolvable references).
curl -fsS "http://127.0.0.1:$port/api/v1/openapi.json" -o "$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

"$venv/bin/schemathesis" --config-file .ci/schemathesis.toml \
  run "http://127.0.0.1:$port/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks all --exclude-checks positive_data_acceptance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples 50 --workers 1 --seed 20261206 \
  --warnings off
if grep -E "/api/v1[^ ]* 5[0-9][0-9] " "$work/server.log"; then
  echo "the server answered 5xx during fuzzing (above)" >&2
  exit 1
fi
