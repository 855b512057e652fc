#!/usr/bin/env bash
# Builds .gpu-check/, what scripts/gpu-check.sh needs on a lent GPU machine that has no network and no
# node_modules (the checkout's node_modules is a link that does not travel):
#   - the two programs it runs, bundled with esbuild (TensorFlow.js and the engine inside);
#   - the wasm backend's .wasm files beside them, and Dawn (npm webgpu's index.js + dawn.node, xz);
#   - this machine's node binary (xz), used there only when the machine has no Node 20+;
#   - the Vulkan loader and GL dispatch packages (.deb) the device tool's README names.
# Run here from the checkout's root; then call the device tool with carry [".gpu-check"].
# Total stays under the tool's 64 MiB (the checkout's tracked files count too).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-check
mkdir -p "$out/debs" "$out/node_modules/webgpu"

# Bundles (one shared chunk, minified, to stay small): ESM with require/__dirname defined, because the
# wasm backend's loader (emscripten) uses both
# to find its .wasm files next to the bundle.
banner="import { createRequire as __cr } from 'module'; import { fileURLToPath as __fu } from 'url'; import { dirname as __dn } from 'path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
rm -f "$out"/*.mjs # chunk names change with their content: old ones would pile up in the carry
node_modules/.bin/esbuild scripts/bench-webgpu.ts scripts/webgpu-parity.ts --bundle --platform=node --format=esm \
  --target=node20 --splitting --minify --outdir="$out" --out-extension:.js=.mjs --log-level=warning --banner:js="$banner"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"

dawn=node_modules/webgpu
cp "$dawn/index.js" "$dawn/package.json" "$out/node_modules/webgpu/"
[ -f "$out/dawn.node.xz" ] || xz -T2 -6 -c "$dawn/dist/linux-x64/dawn.node" >"$out/dawn.node.xz"
[ -f "$out/node.xz" ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"

if ! ls "$out"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o=(-qq -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$lists" -oAPT::Sandbox::User=root)
  apt-get "${o[@]}" update
  (cd "$out/debs" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  rm -rf "$lists"
fi
du -sh "$out"
