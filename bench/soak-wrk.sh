#!/usr/bin/env bash
# Load held at a high rate (bench/soak.sh is the many-users soak): the release binary on
# loopback under the five demo users' sessions doing mixed reads and writes for a bounded time,
# with wrk. Prints the error count (5xx and socket errors), the
# latency percentiles (p50/p90/p99) and the server's RSS every few seconds.
#
#   bench/soak-wrk.sh                      # 120 s, 32 connections, SQLite in a temp dir
#   DURATION=300 CONNECTIONS=64 bench/soak-wrk.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1/soak bench/soak-wrk.sh   # an empty database
#   BIN=target/debug/releasedesk bench/soak-wrk.sh                     # skip the release build
#
# Needs wrk (apt-get install wrk) and curl. Everything stays on 127.0.0.1.
set -euo pipefail

DURATION=${DURATION:-120}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WRITE_PERCENT=${WRITE_PERCENT:-20}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
PORT=${PORT:-18080}
PASSWORD=soak-password-1
BASE="http://127.0.0.1:$PORT"
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install wrk)" >&2; exit 1; }
if [[ -z "${BIN:-}" ]]; then
  cargo build --release --quiet --bin releasedesk
  BIN=target/release/releasedesk
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

DB=${DATABASE_URL:-sqlite://$WORK/soak.db}
RELEASEDESK_LOG=warn DATABASE_URL="$DB" RELEASEDESK_DEMO_PASSWORD=$PASSWORD \
  "$BIN" serve --demo --bind "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "$BASE/healthz" >/dev/null || { echo "soak: the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

# Sign each demo user in once; wrk replays their cookie and CSRF token.
token_of() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
LUA_USERS=""
for user in tara carol bob alice victor; do
  jar="$WORK/$user.jar"
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | token_of)
  code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    --data-urlencode "username=$user" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf_token=$token" "$BASE/login")
  [[ "$code" == 303 ]] || { echo "soak: sign-in as $user answered $code" >&2; exit 1; }
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/account" | token_of)
  cookie=$(awk '$6 == "releasedesk_session" { print $7 }' "$jar")
  writes=$([[ $user == victor ]] && echo false || echo true)
  LUA_USERS+="{ name = \"$user\", cookie = \"releasedesk_session=$cookie\", csrf = \"$token\", writes = $writes },"$'\n'
done

cat >"$WORK/mixed.lua" <<LUA
-- Each connection is one of the demo users; ${WRITE_PERCENT}% of requests from users who may write
-- are writes (script drafts saved, versions submitted), the rest page and fragment reads.
local users = { $LUA_USERS }
local reads = {
  "/workspaces", "/workspaces/demo", "/workspaces/demo/scripts?q=orders",
  "/workspaces/demo/task-release/tasks", "/workspaces/demo/task-release/tasks?q=daily&status=pending",
  "/workspaces/demo/task-release/packages", "/workspaces/demo/task-release/packages/1",
  "/workspaces/demo/production", "/workspaces/demo/region-release/tasks",
  "/workspaces/demo/region-release/tasks/1", "/workspaces/demo/region-release/tasks/1/process",
  "/workspaces/demo/regions", "/workspaces/demo/components", "/workspaces/demo/audit",
  "/reviews", "/account",
}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(id * 7919 + os.time())
  user = users[(id % #users) + 1]
  n2xx, n3xx, n4xx, n5xx = 0, 0, 0, 0
  seq = 0
end
function request()
  seq = seq + 1
  local headers = { ["Cookie"] = user.cookie }
  if user.writes and math.random(100) <= ${WRITE_PERCENT} then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-CSRF-Token"] = user.csrf
    local script = math.random(1, 9)
    if math.random(4) == 1 then
      return wrk.format("POST", "/workspaces/demo/scripts/" .. script .. "/submit", headers,
        "message=soak+" .. user.name .. "+" .. seq)
    end
    return wrk.format("POST", "/workspaces/demo/scripts/" .. script, headers,
      "script_type=sql&schedule=&description=soak&content=SELECT+" .. math.random(1000000) .. "%3B%0A")
  end
  if math.random(3) == 1 then headers["HX-Request"] = "true" end
  return wrk.format("GET", reads[math.random(#reads)], headers)
end
function response(status, headers, body)
  if status >= 500 then n5xx = n5xx + 1
  elseif status >= 400 then n4xx = n4xx + 1
  elseif status >= 300 then n3xx = n3xx + 1
  else n2xx = n2xx + 1 end
end
function done(summary, latency, requests)
  local c = { 0, 0, 0, 0 }
  for _, t in ipairs(threads) do
    c[1] = c[1] + t:get("n2xx"); c[2] = c[2] + t:get("n3xx")
    c[3] = c[3] + t:get("n4xx"); c[4] = c[4] + t:get("n5xx")
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format("requests %d in %.1f s (%.0f/s)\n", summary.requests,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("status 2xx %d, 3xx %d, 4xx %d, 5xx %d; socket errors %d\n",
    c[1], c[2], c[3], c[4], socket_errors))
  io.write(string.format("latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("ERRORS %d\n", c[4] + socket_errors))
end
LUA

rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
echo "soak: $BIN, $DB, ${DURATION}s, $CONNECTIONS connections, ${WRITE_PERCENT}% writes, $(nproc) cores"
echo "rss at start: $(rss) MiB"
(
  start=$(date +%s)
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    sleep "$SAMPLE_EVERY"
    echo "t=$(( $(date +%s) - start ))s rss=$(rss) MiB"
  done
) &
SAMPLER=$!
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$WORK/mixed.lua" "$BASE" | tee "$WORK/wrk.out"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
echo "rss at end: $(rss) MiB"
if [[ "$DB" == sqlite://* ]]; then
  db_file=${DB#sqlite://}
  echo "database at end: $(du -k "$db_file" | cut -f1) KiB, WAL $(du -k "$db_file-wal" 2>/dev/null | cut -f1 || echo 0) KiB"
fi
echo "server log lines at WARN or above: $(grep -c -E 'WARN|ERROR' "$WORK/server.log" || true)"
errors=$(awk '/^ERRORS/ { print $2 }' "$WORK/wrk.out")
[[ "${errors:-1}" == 0 ]] || { echo "soak: $errors errors" >&2; exit 1; }
