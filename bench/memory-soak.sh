#!/usr/bin/env bash
# Memory per request, on big data: builds the release binary, then runs the ignored test
# `memory_soak` (tests/memory.rs), which seeds a database through the data layer (47,000
# scripts to export, two packages of 30 scripts of about 1 MiB to compare, 100,000 audit rows),
# starts `target/release/releasedesk serve` on it, sends several exports, Compare Version pages
# and audit CSVs at once, and prints the server's peak RssAnon per round. It fails when RssAnon
# reaches 64 MiB or stays 8 MiB above its idle level 5 s after the last round.
# Figures: docs/RELIABILITY.md, "Memory per request".
#
#   bash bench/memory-soak.sh                          # SQLite
#   SOAK_BACKEND=postgres bash bench/memory-soak.sh    # a fresh database on 127.0.0.1:5432
#   SOAK_SCRIPTS=10000 SOAK_AUDIT=20000 bash bench/memory-soak.sh   # smaller and faster
#   RELEASEDESK_BIN=/tmp/old-releasedesk SOAK_NO_ASSERT=1 bash bench/memory-soak.sh
#                                                      # measure another build, figures only
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SOAK_BACKEND:-sqlite}" = postgres ]; then
  export RELEASEDESK_TEST_DATABASE_URL="${RELEASEDESK_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
fi
if [ -z "${RELEASEDESK_BIN:-}" ]; then
  cargo build --release --quiet --bin releasedesk
  export RELEASEDESK_BIN="$PWD/target/release/releasedesk"
fi
cargo test --quiet --test memory memory_soak -- --ignored --nocapture --test-threads=1
