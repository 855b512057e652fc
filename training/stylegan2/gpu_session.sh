#!/usr/bin/env bash
# Runs on a lent GPU machine over a copy of the repo with .gpu/ carried (see gpu_prepare.sh): renders the
# dataset on every core, continues the run from .gpu/slim on CUDA until BUDGET_S seconds after the start, and
# leaves a slim F32 checkpoint, the sample grid and the logs in $OUT. Back here, start the CPU run from it:
#   train.py --init-from <files_at>/slim --out training/runs/NEW_RUN ...
# A second call on the same (still warm) machine reuses the rendered dataset and resumes the run it left in
# $WORK, optimiser state and all, so one session's device time can go into two back-to-back calls.
# Settings (env): BUDGET_S (default 540), BATCH (64), GAMMA (0.2048: the run's R1 weight at batch 16, kept),
# COUNT (30000), VERSION (training/faces dataset version, 1), PL_WEIGHT (2), DEVICE (cuda; cpu for a dry run
# here), WORK (/tmp/gpu-session). INIT_MODEL (a model file, e.g. models/faces128/model.safetensors): start a
# fine-tune from it instead of .gpu/slim, training only D for the first D_WARMUP_KIMG (10) kimg.
set -uo pipefail
t0=$(date +%s)
BUDGET_S=${BUDGET_S:-540}; BATCH=${BATCH:-64}; GAMMA=${GAMMA:-0.2048}; COUNT=${COUNT:-30000}; DEVICE=${DEVICE:-cuda}
VERSION=${VERSION:-1}; PL_WEIGHT=${PL_WEIGHT:-2}; INIT_MODEL=${INIT_MODEL:-}; D_WARMUP_KIMG=${D_WARMUP_KIMG:-10}
OUT=${OUT:?OUT must be set}; WORK=${WORK:-/tmp/gpu-session}
PY=${PY:-python3}
mkdir -p "$WORK/data" "$OUT/slim"
exec > >(tee "$OUT/session.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

want=$(( COUNT * 128 * 128 * 3 ))
have_version=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("version", 1))' "$WORK/data/meta.json" 2>/dev/null)
if [ "$have_version" = "$VERSION" ] && [ "$(stat -c %s "$WORK/data/images.u8" 2>/dev/null)" = "$want" ]; then
  echo "reusing the dataset rendered by an earlier call in $WORK/data"
else
  rm -rf "$WORK/shards" "$WORK/data" && mkdir -p "$WORK/shards" "$WORK/data"
  # node binary: Python's lzma, since the machine may lack xz.
  "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .gpu/node-*.xz "$WORK/node"
  chmod +x "$WORK/node"
  jobs=$(nproc); per=$(( (COUNT + jobs - 1) / jobs )); pids=()
  for ((k = 0; k < jobs; k++)); do
    start=$(( k * per )); n=$(( COUNT - start < per ? COUNT - start : per ))
    [ "$n" -gt 0 ] || continue
    "$WORK/node" .gpu/render.cjs --out "$WORK/shards/$k" --count "$n" --start "$start" --version "$VERSION" > "$WORK/shards/$k.log" 2>&1 & pids+=($!)
  done
  wait "${pids[@]}"  # not a bare wait: that would also wait for the tee above
  for ((k = 0; k < jobs; k++)); do [ -f "$WORK/shards/$k/images.u8" ] && cat "$WORK/shards/$k/images.u8"; done > "$WORK/data/images.u8"
  bytes=$(stat -c %s "$WORK/data/images.u8")
  if [ "$bytes" -ne "$want" ]; then
    echo "render failed: images.u8 has $bytes bytes"; tail -5 "$WORK"/shards/*.log; exit 1
  fi
  "$PY" -c 'import json, sys; json.dump({"count": int(sys.argv[1]), "size": 128, "start": 0, "version": int(sys.argv[3])}, open(sys.argv[2], "w"))' "$COUNT" "$WORK/data/meta.json" "$VERSION"
  echo "rendered $COUNT images (version $VERSION) in $(( $(date +%s) - t0 )) s; sha256 $(sha256sum "$WORK/data/images.u8" | cut -c1-16)"
fi

# A run left by an earlier call resumes from its full checkpoint; otherwise start from the carried slim one, or
# from INIT_MODEL (a fine-tune: fresh D, trained alone for D_WARMUP_KIMG first).
if ls "$WORK"/run/ckpt-*.pt > /dev/null 2>&1; then init=(); echo "resuming $WORK/run"
elif [ -n "$INIT_MODEL" ]; then init=(--init-from-model "$INIT_MODEL" --d-warmup-kimg "$D_WARMUP_KIMG"); echo "fine-tuning $INIT_MODEL"
else init=(--init-from .gpu/slim); fi
# Leave ~70 s for start-up, the moment warm-up, the last checkpoint and the slim export.
minutes=$("$PY" -c "print(max(0.5, ($BUDGET_S - ($(date +%s) - $t0) - 70) / 60))")
echo "training for $minutes min"
"$PY" training/stylegan2/train.py --data "$WORK/data" --out "$WORK/run" "${init[@]}" --device "$DEVICE" \
  --batch "$BATCH" --gamma "$GAMMA" --pl-weight "$PL_WEIGHT" --kimg 100000 --max-minutes "$minutes" --snap-minutes 2 --log-seconds 20 --threads 4
echo "train.py exit $?"
"$PY" training/stylegan2/slim_ckpt.py "$WORK/run" "$OUT/slim" --f32
cp "$(ls "$WORK"/run/samples-*kimg.png | tail -1)" "$OUT/" 2>/dev/null
echo "session done in $(( $(date +%s) - t0 )) s"
