#!/usr/bin/env bash
# A/B comparison of two releasedesk builds on one seeded database (docs/BENCHMARKS.md).
#
#   bench/ab.sh OLD_BIN NEW_BIN DATABASE_URL [ROUNDS] [DURATION]
#
# Serves the database with each binary in turn (ROUNDS times, alternating, so a machine that
# slows down mid-run hurts both), signs in as bench-admin, drives each page with
# `wrk -t1 -c32`, and prints req/s, p50, p99 and the server's CPU time per request (utime +
# stime from /proc, which moves less than req/s on a shared machine). PAGES overrides the page
# list: "label:/path label:/path"; POOL the pooled connections (the server's default unless set;
# POOL_OLD and POOL_NEW set each side's, to compare pool sizes with one binary); CONNS wrk's
# connections (32; 1 measures one user's latency). Seed first with `releasedesk seed-bench` (bench/run.sh does).
set -euo pipefail
OLD=$1; NEW=$2; URL=$3; ROUNDS=${4:-2}; DUR=${5:-5s}
PORT="${PORT:-18490}"; BASE="http://127.0.0.1:$PORT"; WS=/workspaces/bench
PAGES=${PAGES:-"tasks:$WS/task-release/tasks sub:$WS/task-release/tasks?submitter=dev007&status=pending frag:$WS/task-release/tasks?q=orders_0012 broad:$WS/task-release/tasks?q=daily+orders prod:$WS/production"}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

run() {
  local bin=$1 pool=$3 pid jar token cookie
  RELEASEDESK_LOG=warn "$bin" serve --database-url "$URL" --bind "127.0.0.1:$PORT" --workers 2 ${pool:+--pool-size "$pool"} \
    >"${TMPDIR:-/tmp}/ab-server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  jar=$(mktemp)
  token=$(curl -sf -c "$jar" "$BASE/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl -sf -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" \
    --data-urlencode username=bench-admin --data-urlencode password=bench-password-1 "$BASE/login"
  cookie="releasedesk_session=$(awk '$6 == "releasedesk_session" {print $7}' "$jar")"
  for p in $PAGES; do
    local label=${p%%:*} path=${p#*:} t0 t1 out n
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$(wrk -t1 -c"${CONNS:-32}" -d"$DUR" --latency -H "Cookie: $cookie" -H "Accept-Encoding: gzip" "$BASE$path")
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    printf '%-4s %-6s %9s req/s  p50 %9s  p99 %9s  cpu %5d us/req\n' "$2" "$label" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
      "$(awk '$1=="99%" {print $2}' <<<"$out")" $(((t1 - t0) * TICK_US / n))
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$jar"
}

for _ in $(seq 1 "$ROUNDS"); do
  run "$OLD" old "${POOL_OLD:-${POOL:-}}"
  run "$NEW" new "${POOL_NEW:-${POOL:-}}"
done
