#!/usr/bin/env bash
# The one set-up command for a fresh machine (see README): installs dependencies exactly as locked.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
npm ci --no-audit --no-fund
# The Next.js production build, so `npm start` serves at once.
npm run build
