#!/usr/bin/env bash
# Shared by scripts/start.sh and scripts/test.sh (not a step of its own): brings a checkout to the point
# where the app and the tests run. Idempotent and quick when nothing changed, so both commands call it
# every time and a fresh machine needs nothing else.
#   - dependencies exactly as locked (npm ci) when node_modules is missing or older than package-lock.json
#     (npm rewrites node_modules/.package-lock.json on every install, so its age says which lockfile it is);
#   - the Prisma clients (postinstall makes them; regenerated when the schema is newer than them);
#   - with --build: the Next.js production build, when it is missing or older than the app's sources.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1

newer_than() { # newer_than FILE PATH...: is any file under PATH... newer than FILE?
  local ref=$1; shift
  [ -n "$(find "$@" -newer "$ref" -type f -print -quit 2>/dev/null)" ]
}

if [ ! -f node_modules/.package-lock.json ] || newer_than node_modules/.package-lock.json package-lock.json package.json; then
  echo "[prepare] installing dependencies as locked (npm ci)..."
  npm ci --no-audit --no-fund
fi

# Both clients (SQLite and PostgreSQL); generate.mjs knows which files they derive from.
node prisma/generate.mjs --if-stale

if [ "${1:-}" = "--build" ]; then
  if [ ! -f .next/BUILD_ID ] || newer_than .next/BUILD_ID app contract next.config.js; then
    echo "[prepare] building the web app (next build)..."
    npm run build
  fi
fi
