#!/usr/bin/env bash
# Sets up what is missing or out of date (scripts/prepare.sh: locked dependencies, Prisma client, the app's
# production build) and runs the studio (`npm start`; PORT, HOST and STABLEDRAG_* as in server/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh --build
exec npm start
