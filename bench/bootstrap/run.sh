#!/usr/bin/env bash
# Multi-Bootstrap benchmark: ours (Rust, release) vs the Python reference (numpy + pandas) on
#   (a) MNLI-shaped paired: 150 runs (5 seeds x 2 sides x 15) x 9815 examples, 3 classes
#   (b) coref-shaped unpaired: 250 runs (25 seeds x 5 per side) x 720 examples
# nboot 1000, accuracy. Prints both median times, the ratio and our ns per run*example*draw,
# and checks that our numpy-compatible mode prints the reference's report.
# Env: REPS (reference repetitions, default 3), OURS_REPS (default 7).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=bench/.venv
OUT=bench/out/bootstrap
REPS=${REPS:-3}
OURS_REPS=${OURS_REPS:-7}
TARGET=${CARGO_TARGET_DIR:-target}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q numpy pandas

cargo build --release -q -p multiberts-bootstrap --example bench
mkdir -p "$OUT"
"$VENV/bin/python" bench/bootstrap/bench_ref.py "$OUT" --only-data

: > "$OUT/results.jsonl"
for c in mnli_paired coref_unpaired; do
  "$TARGET/release/examples/bench" "$OUT" "$c" "$OURS_REPS" >> "$OUT/results.jsonl"
done
# OPENBLAS_CORETYPE slows a current numpy on this machine (see the env notes); the reference
# does no BLAS work here, but unset it for this command alone anyway.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  "$VENV/bin/python" bench/bootstrap/bench_ref.py "$OUT" --reps "$REPS" >> "$OUT/results.jsonl"
"$VENV/bin/python" bench/bootstrap/summarize.py "$OUT/results.jsonl"
