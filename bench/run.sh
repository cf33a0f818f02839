#!/usr/bin/env bash
# Reproducible benchmark of releasedesk (docs/BENCHMARKS.md has the results and how to read them).
#
# For each backend and size: seeds a fresh database with `releasedesk seed-bench`, starts the
# release build, signs in, drives nine pages and two API calls with wrk, reads the server's peak RSS (VmHWM), and
# times approve -> all 100 tasks of a package live in production.
#
# Needs: cargo, wrk, curl, sqlite3 (and psql plus a PostgreSQL server for the postgres runs).
#
# Knobs (environment):
#   SIZES="10000 100000 1000000"  task counts
#   BACKENDS="sqlite postgres"
#   PG_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable   an admin URL; databases
#                 rd_bench_<n> are (re)created. No TLS by default: the server and PostgreSQL share
#                 this machine, and TLS on the loopback cost 15-20 % of PostgreSQL's throughput
#                 (docs/BENCHMARKS.md); set PG_URL to measure it anyway.
#   DURATION=10s  CONNS=32  THREADS=1   wrk settings
#   WARMUP=3s     an unmeasured wrk run of each page first (a database seeded a minute ago is
#                 partly cold: SQLite's 1M broad search measured 581 req/s cold, 1,030 warm)
#   WORKERS=2     server HTTP workers;  POOL  database connections (unset: the server's default,
#                 8 on SQLite and twice the cores on PostgreSQL)
#   REUSE=1       keep an already seeded database of the same size (saves the seeding time)
#   OUT=target/bench   where databases, logs and results go
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES="${SIZES:-10000 100000 1000000}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-1}"
WORKERS="${WORKERS:-2}"
POOL="${POOL:-}"
REUSE="${REUSE:-0}"
OUT="${OUT:-target/bench}"
PORT="${PORT:-18480}"
PASSWORD="bench-password-1"
BASE="http://127.0.0.1:$PORT"
WS="/workspaces/bench"

for tool in wrk curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p "$OUT"
RESULTS="$OUT/results.md"

echo "== building (release)" >&2
cargo build --release --quiet
BIN="$PWD/target/release/releasedesk"

SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

# sql <backend> <url> <statement>: one value from the database.
sql() {
  case "$1" in
    sqlite) sqlite3 "${2#sqlite://}" "$3" ;;
    postgres) psql -qtAX "$2" -c "$3" ;;
  esac
}

# login <jar> <user>: signs in, leaving the session cookie in the jar.
login() {
  local token
  token=$(curl -sf -c "$1" "$BASE/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl -sf -o /dev/null -b "$1" -c "$1" --data-urlencode "csrf_token=$token" \
    --data-urlencode "username=$2" --data-urlencode "password=$PASSWORD" "$BASE/login"
}

# csrf <jar> <path>: the CSRF token of a page.
csrf() {
  curl -sf -b "$1" "$BASE$2" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'
}

# The credentials `drive` sends: the session cookie for pages, a bearer token for the API.
HEADER=""

# drive <label> <path>: one wrk run; prints a table row.
drive() {
  local label="$1" path="$2" out rps p50 p99 non2xx
  # Check the page answers 200 first, so a broken URL is not benchmarked as fast 4xx.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$HEADER" "$BASE$path")
  [[ "$code" == 200 ]] || { echo "$label: $path answered $code" >&2; exit 1; }
  if [[ "$WARMUP" != 0 ]]; then
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "$HEADER" -H "Accept-Encoding: gzip" "$BASE$path" >/dev/null
  fi
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "$HEADER" -H "Accept-Encoding: gzip" "$BASE$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$BACKEND" "$N" "$label" "$rps" "$p50" "$p99" "${non2xx:-0}" | tee -a "$RESULTS"
}

echo "| backend | tasks | page | req/s | p50 | p99 | non-2xx |" | tee -a "$RESULTS"
echo "| --- | --- | --- | --- | --- | --- | --- |" | tee -a "$RESULTS"
for BACKEND in $BACKENDS; do
  for N in $SIZES; do
    case "$BACKEND" in
      sqlite)
        DB="$OUT/bench-$N.db"
        URL="sqlite://$PWD/$DB"
        fresh=1
        if [[ "$REUSE" == 1 && -f "$DB" ]]; then fresh=0; fi
        if [[ "$fresh" == 1 ]]; then rm -f "$DB" "$DB-wal" "$DB-shm"; fi
        ;;
      postgres)
        command -v psql >/dev/null || { echo "postgres runs need psql" >&2; exit 1; }
        name="rd_bench_$N"
        # The admin URL with its database name replaced (its ?parameters kept).
        pg_path="${PG_URL%%\?*}"
        pg_params=""
        [[ "$PG_URL" == *\?* ]] && pg_params="?${PG_URL#*\?}"
        URL="${pg_path%/*}/$name$pg_params"
        fresh=1
        if [[ "$REUSE" == 1 ]] && [[ "$(psql -qtAX "$PG_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" == 1 ]]; then fresh=0; fi
        if [[ "$fresh" == 1 ]]; then
          psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
        fi
        ;;
      *) echo "unknown backend $BACKEND" >&2; exit 1 ;;
    esac
    if [[ "$fresh" == 1 ]]; then
      echo "== seeding $BACKEND with $N tasks" >&2
      /usr/bin/time -f "seed-bench peak RSS %M KB" "$BIN" seed-bench --database-url "$URL" \
        --tasks "$N" --packages $((N / 100)) --audit $((N / 10)) 2>&1 | tee -a "$OUT/seed.log" >&2
    fi

    echo "== serving $BACKEND $N" >&2
    # The API's per-token budget is lifted: wrk sends as one token.
    RELEASEDESK_LOG=warn RELEASEDESK_API_RATE_LIMIT=1000000000 "$BIN" serve --database-url "$URL" --bind "127.0.0.1:$PORT" \
      --workers "$WORKERS" ${POOL:+--pool-size "$POOL"} >"$OUT/server-$BACKEND-$N.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
      curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
      sleep 0.1
    done
    JAR="$OUT/jar-admin"
    rm -f "$JAR"
    login "$JAR" bench-admin
    COOKIE="releasedesk_session=$(awk '$6 == "releasedesk_session" {print $7}' "$JAR")"
    HEADER="Cookie: $COOKIE"

    pkg=$(sql "$BACKEND" "$URL" "SELECT MIN(p.id) FROM release_packages p JOIN workspaces w ON w.id = p.workspace_id WHERE w.slug = 'bench' AND p.task_count = 100")
    region_task=$(sql "$BACKEND" "$URL" "SELECT MIN(t.id) FROM region_tasks t JOIN workspaces w ON w.id = t.workspace_id WHERE w.slug = 'bench'")
    # Packages hold the oldest 60% of the tasks (one a minute, the newest a minute ago): a
    # 30-day window starting 60% of the way back lands among them at every size.
    from=$(date -u -d "-$((N * 6 / 10 / 1440)) days" +%F)
    to=$(date -u -d "-$((N * 6 / 10 / 1440 - 30)) days" +%F)

    drive "Tasks tab" "$WS/task-release/tasks"
    drive "Tasks: submitter + status" "$WS/task-release/tasks?submitter=dev007&status=pending"
    drive "Search orders_0012" "$WS/task-release/tasks?q=orders_0012"
    drive "Search daily orders" "$WS/task-release/tasks?q=daily+orders"
    drive "Search daily_orders (one word)" "$WS/task-release/tasks?q=daily_orders"
    drive "Packages: applied range" "$WS/task-release/packages?applied_from=$from&applied_to=$to"
    drive "Package details (100 tasks)" "$WS/task-release/packages/$pkg"
    drive "Production" "$WS/production"
    drive "Region task detail" "$WS/region-release/tasks/$region_task"
    # Insights: the default 30 days (at 1M no package finished in them: the seed's packages are
    # the oldest 60% of the tasks) and a whole year, which at 1M holds about 2,000 packages.
    drive "Insights (30 days)" "$WS/insights"
    drive "Insights (365 days)" "$WS/insights?period=365"
    # The API's task list and a search, as a CI job calls them (a read token of bench-admin).
    HEADER="Authorization: Bearer $("$BIN" token create --database-url "$URL" --username bench-admin --name bench --scope read)"
    drive "API: tasks" "/api/v1$WS/tasks"
    drive "API: search daily orders" "/api/v1$WS/tasks?q=daily+orders"
    HEADER="Cookie: $COOKIE"
    # VmHWM counts the SQLite memory map's file pages too; RssAnon is the process's own memory.
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    anon=$(awk '/RssAnon/ {print $2}' "/proc/$SERVER_PID/status")
    printf '| %s | %s | peak RSS (VmHWM) / anonymous now (RssAnon) | %s MB / %s MB | | | |\n' "$BACKEND" "$N" "$((rss / 1024))" "$((anon / 1024))" | tee -a "$RESULTS"

    # Approve -> all 100 tasks live: dev001 releases 100 pending tasks for rev1's approval, rev1
    # approves, and the clock runs until the package leaves `releasing`.
    DEV="$OUT/jar-dev"; REV="$OUT/jar-rev"
    rm -f "$DEV" "$REV"
    login "$DEV" dev001
    login "$REV" rev1
    ids=$(curl -sf -b "$DEV" "$BASE$WS/task-release/tasks?status=pending&per_page=100" \
      | grep -o 'name="task_ids" value="[0-9]*"' | sed 's/.*value="//; s/"$//')
    reviewer=$(sql "$BACKEND" "$URL" "SELECT id FROM users WHERE username = 'rev1'")
    args=()
    for id in $ids; do args+=(--data-urlencode "task_ids=$id"); done
    token=$(csrf "$DEV" "$WS/task-release/tasks")
    location=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$DEV" "${args[@]}" \
      --data-urlencode "csrf_token=$token" --data-urlencode "reviewers=$reviewer" \
      --data-urlencode "name=bench-approve-$N" --data-urlencode "comment=bench" "$BASE$WS/task-release/release")
    package=${location##*/}
    [[ "$package" =~ ^[0-9]+$ ]] || { echo "release failed: $location" >&2; exit 1; }
    token=$(csrf "$REV" "$WS/task-release/packages/$package")
    start=$(date +%s%N)
    curl -sf -o /dev/null -b "$REV" --data-urlencode "csrf_token=$token" \
      --data-urlencode "decision=approve" --data-urlencode "comment=ok" "$BASE$WS/task-release/packages/$package/decision"
    status=releasing
    while [[ "$status" == releasing ]]; do
      sleep 0.01
      status=$(sql "$BACKEND" "$URL" "SELECT status FROM release_packages WHERE id = $package")
    done
    end=$(date +%s%N)
    done_count=$(sql "$BACKEND" "$URL" "SELECT done_count FROM release_packages WHERE id = $package")
    printf '| %s | %s | approve -> %s tasks live (%s) | %s ms | | | |\n' "$BACKEND" "$N" "$done_count" "$status" "$(((end - start) / 1000000))" | tee -a "$RESULTS"
    stop_server
  done
done
echo "results appended to $RESULTS" >&2
