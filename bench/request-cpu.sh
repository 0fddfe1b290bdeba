#!/usr/bin/env bash
# CPU per request of the server, on PostgreSQL and on PGlite, with the shared load harness
# (../shared/bench, its README: "CPU per request"). For each engine it starts a fresh server from
# ROOT (a checkout of this repository: this one by default, or e.g. a worktree of main to measure
# "before") on 127.0.0.1 with a fresh data directory (and, for PostgreSQL, its own throwaway
# server, so the postmaster serves only this load), fetches an admin token over the token
# endpoint, runs the harness with --cpu on the node process (and the postmaster tree), prints
# the per-request CPU table and stops everything it started.
#
#   bench/request-cpu.sh [--root DIR] [--engines postgres,pglite] [--duration 5] [--patients 50] [--out FILE]
#
# The seed is smaller than the harness default (seeding runs at the server's create speed and is not
# measured); what a read or create costs hardly depends on it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$HERE
ENGINES=postgres,pglite
DURATION=5
OUT=
PATIENTS=50
OPS=read-patient,search-patient-identifier,search-observation-subject-sort,create-patient,transaction-20
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$(cd "$2" && pwd); shift 2 ;;
    --engines) ENGINES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --ops) OPS=$2; shift 2 ;;
    --patients) PATIENTS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

HARNESS_SRC=${FHIR_BENCH_DIR:-$HERE/../shared/bench}
[ -f "$HARNESS_SRC/bench.mjs" ] || HARNESS_SRC=/work/shared/bench
[ -f "$HARNESS_SRC/bench.mjs" ] || { echo "no ../shared/bench/bench.mjs (set FHIR_BENCH_DIR)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/schakel-request-cpu-XXXXXX)
# The harness needs undici; when its own install is missing it runs from a private copy that
# resolves packages from this repository's node_modules (which has undici), leaving it untouched.
if [ -d "$HARNESS_SRC/node_modules/undici" ]; then
  HARNESS=$HARNESS_SRC/bench.mjs
else
  cp "$HARNESS_SRC/bench.mjs" "$WORK/bench.mjs"
  ln -s "$(readlink -f "$HERE/node_modules")" "$WORK/node_modules"
  HARNESS=$WORK/bench.mjs
fi

SERVER_PID=
PG_DIR=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
  if [ -n "$PG_DIR" ]; then "$HERE/scripts/throwaway-postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; fi
  PG_DIR=
}
trap 'cleanup; rm -rf "$WORK"' EXIT

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

run_engine() {
  local engine=$1 port data cpu=()
  port=$(free_port)
  data=$WORK/data-$engine
  mkdir -p "$data"
  local env=(HOST=127.0.0.1 PORT="$port" DATA_DIR="$data" LOG_LEVEL=warn SEED_FIXTURES=false AUTH_TOKEN_LIFETIME=3600)
  if [ "$engine" = postgres ]; then
    eval "$("$HERE/scripts/throwaway-postgres.sh" start)"
    PG_DIR=$PG_THROWAWAY_DIR
    env+=(DATABASE_URL="$DATABASE_URL")
    cpu+=(--cpu "pg:tree:$(head -1 "$PG_DIR/data/postmaster.pid")")
  fi
  # node itself (not npm or a shell) so that its pid is the server's.
  (cd "$ROOT" && exec env -u DATABASE_URL -u DATABASE_READ_URL "${env[@]}" node --import tsx src/server.ts >"$WORK/server-$engine.log" 2>&1) &
  SERVER_PID=$!
  cpu+=(--cpu "node:$SERVER_PID")
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server-$engine.log" >&2; exit 1; }
    sleep 0.5
  done
  local token
  token=$(cd "$ROOT" && env DATA_DIR="$data" LOG_LEVEL=silent node --import tsx "$HERE/scripts/token.ts" --as admin --url "http://127.0.0.1:$port")
  echo "== $engine, $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo "not a git checkout") ($ROOT)" >&2
  node "$HARNESS" run --base "http://127.0.0.1:$port/fhir" --label "$engine" --duration "$DURATION" --ops "$OPS" \
    --patients "$PATIENTS" --obs-per-patient 4 \
    --header "Authorization: Bearer $token" "${cpu[@]}" ${OUT:+--out "$OUT"}
  cleanup
}

IFS=, read -r -a list <<<"$ENGINES"
for engine in "${list[@]}"; do
  run_engine "$engine"
done
