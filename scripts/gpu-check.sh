#!/usr/bin/env bash
# The GPU check for a lent machine (one H100, 16 cores, no network), about 5-8 minutes:
#   1. the WebGPU adapter Dawn finds, and webgpu-vs-wasm parity (forward, feature tap, gradient, a drag) on
#      the parity fixture (20 steps) and on a real-width 128 px model (5 steps);
#   2. webgpu timings (forward, the engine's DragGAN and StableDrag steps, with a frame, a bare
#      forward+backward step) at 128/256/512/1024 px on random generators of real widths (channel_base
#      32768, channel_max 512), and wasm at 128 px for scale (forward and bare step: its drag is slow);
#   3. the PyTorch reference drag step on CUDA on the same models, where torch is present;
#   4. one JSON report, $OUT/gpu-check.json (logs beside it).
#
# Here, first:  bash scripts/gpu-check-prepare.sh         (makes .gpu-check/, ~45 MiB)
# Then, with the device tool:  run(command="bash scripts/gpu-check.sh", carry=[".gpu-check"], timeout_s=600)
# Dry run on this CPU with the private lavapipe (scripts/software-vulkan.sh):
#   GPU_CHECK_SOFTWARE=1 GPU_CHECK_SIZES=32,64 GPU_CHECK_CHANNELS=512,32 OUT=/tmp/gc bash scripts/gpu-check.sh
# Knobs: GPU_CHECK_SIZES (default 128,256,512,1024), GPU_CHECK_STEPS (10), GPU_CHECK_CHANNELS
# (channel_base,channel_max; default 32768,512), GPU_CHECK_SOFTWARE=1 (use .cache/software-vulkan),
# GPU_CHECK_PYTHON (default python3: the one holding PyTorch on the lent machines).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
c=$root/.gpu-check
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
sizes=${GPU_CHECK_SIZES:-128,256,512,1024}
steps=${GPU_CHECK_STEPS:-10}
py=${GPU_CHECK_PYTHON:-python3}
IFS=, read -r cbase cmax <<<"${GPU_CHECK_CHANNELS:-32768,512}"
models=$(mktemp -d -t gpu-check-models.XXXXXX)
say() { echo "[gpu-check $(date +%T)] $*"; }
[ -f "$c/bench-webgpu.mjs" ] || { say "no .gpu-check/: run scripts/gpu-check-prepare.sh here and carry .gpu-check"; exit 2; }

# Node 20+: the machine's own if it has one, else the carried binary.
NODE=node
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null; then
  xz -dc "$c/node.xz" >/tmp/gpu-check-node && chmod +x /tmp/gpu-check-node && NODE=/tmp/gpu-check-node
fi
dawn=$c/node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || { mkdir -p "$(dirname "$dawn")" && xz -dc "$c/dawn.node.xz" >"$dawn"; }

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/gpu-check-xdg}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ -n "${GPU_CHECK_SOFTWARE:-}" ]; then
  sv=$root/.cache/software-vulkan
  [ -f "$sv/ready" ] || bash scripts/software-vulkan.sh
  export VK_ICD_FILENAMES=$sv/icd.json LD_LIBRARY_PATH=$(cat "$sv/libdir")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
else
  # The device tool's recipe: the Vulkan loader and GL dispatch libraries, then NVIDIA's ICD if the loader
  # does not find one by itself.
  if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    for f in "$c"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$OUT/nvidia-smi.txt" 2>&1 || true

say "parity on the 32 px fixture (webgpu vs wasm)"
timeout 120 "$NODE" "$c/webgpu-parity.mjs" >"$OUT/parity-fixture.json" 2>"$OUT/parity-fixture.log" || say "parity (fixture) failed: $(tail -n 3 "$OUT/parity-fixture.log")"

say "webgpu timings at $sizes px (channels $cbase/$cmax)"
timeout 330 "$NODE" "$c/bench-webgpu.mjs" --backend webgpu --sizes "$sizes" --steps "$steps" --channel-base "$cbase" --channel-max "$cmax" \
  --out "$models" >"$OUT/bench-webgpu.jsonl" 2>"$OUT/bench-webgpu.log" || say "webgpu bench ended early: $(grep -v '^Warning\|^ *at ' "$OUT/bench-webgpu.log" | tail -n 3)"
cat "$OUT/bench-webgpu.jsonl"

first=${sizes%%,*}
if [ -f "$models/random-$first/model.safetensors" ]; then
  say "parity on the real-width $first px model"
  timeout 150 "$NODE" "$c/webgpu-parity.mjs" --model "$models/random-$first" --steps 5 >"$OUT/parity-model.json" 2>"$OUT/parity-model.log" || say "parity ($first px) failed"
  say "wasm timings at $first px, for scale"
  timeout 120 "$NODE" "$c/bench-webgpu.mjs" --backend wasm --no-drag --sizes "$first" --steps 3 --channel-base "$cbase" --channel-max "$cmax" \
    >"$OUT/bench-wasm.jsonl" 2>"$OUT/bench-wasm.log" || say "wasm bench ended early"
fi

: >"$OUT/reference.jsonl"
if "$py" -c "import torch" 2>/dev/null; then
  for res in ${sizes//,/ }; do
    [ -f "$models/random-$res/model.safetensors" ] || continue
    say "PyTorch reference step at $res px"
    timeout 120 "$py" scripts/gpu-reference-step.py --model "$models/random-$res/model.safetensors" --steps "$steps" \
      >>"$OUT/reference.jsonl" 2>>"$OUT/reference.log" || say "reference step at $res px failed: $(tail -n 2 "$OUT/reference.log")"
  done
else
  say "no torch here: reference step skipped"
fi

"$NODE" -e '
const fs = require("fs"), out = process.argv[1];
const json = (f) => { try { return JSON.parse(fs.readFileSync(`${out}/${f}`, "utf8").trim().split("\n").at(-1)); } catch { return null; } };
const lines = (f) => { try { return fs.readFileSync(`${out}/${f}`, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)); } catch { return []; } };
const report = {
  date: new Date().toISOString(), gpu: (fs.existsSync(`${out}/nvidia-smi.txt`) ? fs.readFileSync(`${out}/nvidia-smi.txt`, "utf8").trim() : null),
  node: process.version, parityFixture: json("parity-fixture.json"), parityModel: json("parity-model.json"),
  webgpu: lines("bench-webgpu.jsonl"), wasm: lines("bench-wasm.jsonl"), pytorch: lines("reference.jsonl"),
};
fs.writeFileSync(`${out}/gpu-check.json`, JSON.stringify(report, null, 1));
const p = report.parityFixture;
console.log(`adapter: ${p?.adapter ? `${p.adapter.description} (${p.adapter.vendor}, software: ${p.adapter.software})` : "none"}`);
const e = (d) => (d ? d.relative.toExponential(1) : "-");
for (const [name, r] of [["fixture", p], ["model", report.parityModel]]) if (r) console.log(`parity ${name} ${r.width}px: forward ${e(r.forward)}, features ${e(r.features)}, gradient ${e(r.gradient)}, drag latent ${e(r.dragLatent)} after ${r.dragSteps} steps, handle mismatches ${r.dragHandleMismatches} (relative max abs)`);
console.log("ms per step: px | webgpu forward | webgpu DragGAN | StableDrag | StableDrag+frame | bare step | wasm bare step | torch DragGAN");
for (const w of report.webgpu) {
  const t = report.pytorch.find((x) => x.resolution === w.resolution), a = report.wasm.find((x) => x.resolution === w.resolution);
  console.log([w.resolution, w.forwardMs, w.dragganStepMs, w.stabledragStepMs, w.stabledragStepWithFrameMs, w.dragShapedStepMs, a?.dragShapedStepMs ?? "-", t?.msPerStep ?? "-"].join(" | "));
}
' "$OUT"
rm -rf "$models"
