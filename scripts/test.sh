#!/usr/bin/env bash
# Sets up what is missing or out of date (scripts/prepare.sh) and runs every test; arguments go to
# `vitest run` (a file, `-t name`, reporters). The browser tests build the app themselves when needed and
# run where /usr/bin/chromium exists (Debian: apt-get install -y chromium; .ci/run does it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
exec npx vitest run "$@"
