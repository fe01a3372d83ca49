#!/usr/bin/env bash
# Model speed benchmark: our candle BERT against PyTorch + transformers, side by side, on the
# same CPU with the same thread count. Times a training step (forward + backward + clipping +
# AdamW, batch 16 x 128) and an eval forward at BERT-tiny (2x128), MiniLM-L6 (6x384) and
# BERT-base (12x768) sizes; prints medians, ratios (torch time / our time: > 1 means we are
# faster) and peak RSS.
#
# Usage: bench/model/run.sh [SIZES] [STEPS]   e.g.  bench/model/run.sh "tiny minilm" 5
# Env: THREADS (default: all cores), VENV (default: bench/.venv), RESULTS (default:
# bench/out/model.jsonl), PADS (default: skip; `compute` runs padded positions through every
# layer as HF does, see multiberts_model::bert::PaddedPositions). Installs CPU torch +
# transformers into the venv with pip from PyPI
# (PyPI's torch wheel pulls the CUDA libraries too: several GB, runs on CPU fine).
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES=${1:-"tiny minilm base"}
STEPS=${2:-5}
THREADS=${THREADS:-$(nproc)}
VENV=${VENV:-bench/.venv}
RESULTS=${RESULTS:-bench/out/model.jsonl}
PADS=${PADS:-skip}
mkdir -p "$(dirname "$RESULTS")"
: > "$RESULTS"

if ! "$VENV/bin/python" -c "import torch, transformers" 2>/dev/null; then
  echo "installing torch + transformers into $VENV (large download)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch transformers
fi

cargo build --release -q -p multiberts-model --example bench_model
BIN=${CARGO_TARGET_DIR:-target}/release/examples/bench_model

# The allocator settings from shared/notes/candle.md: keep freed activations mapped.
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
# candle runs its own element-wise ops on a second pool whose threads busy-wait for each other
# (candle_core::utils::BarrierPool); next to rayon's pool (matmuls and our kernels) that
# spinning takes cores from the work. One thread there: element-wise ops run inline, while
# matmuls and our kernels still use THREADS. Measured 20-25 % faster training steps.
export CANDLE_NUM_THREADS=${CANDLE_NUM_THREADS:-1}
# The same for torch: its OpenMP threads spin while they wait, which on a loaded machine makes
# torch up to 1.7x slower (docs/bench/model.md). Passive waiting is the fair counterpart of the
# setting above; override with OMP_WAIT_POLICY=ACTIVE to see torch's default.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

for size in $SIZES; do
  for mode in train eval; do
    "$BIN" "$size" "$mode" "$STEPS" "$PADS" | tee -a "$RESULTS"
    "$VENV/bin/python" bench/model/torch_bench.py "$size" "$mode" "$STEPS" "$THREADS" | tee -a "$RESULTS"
  done
done

python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["impl"], r["size"], r["mode"]): r for r in rows}
print()
print(f"{'size':7} {'mode':5} {'ours s':>8} {'torch s':>8} {'speed':>6} {'ours MB':>8} {'torch MB':>8}")
for (impl, size, mode), r in by.items():
    if impl != "candle":
        continue
    t = by.get(("torch", size, mode))
    if t is None:
        continue
    print(f"{size:7} {mode:5} {r['median_s']:8.3f} {t['median_s']:8.3f} "
          f"{t['median_s'] / r['median_s']:5.2f}x {r['peak_rss_mb']:8.0f} {t['peak_rss_mb']:8.0f}")
print("speed = torch time / our time (>= 1.0 means we are at least as fast)")
PY
