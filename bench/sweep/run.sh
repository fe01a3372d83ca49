#!/usr/bin/env bash
# Sweep benchmark: a whole `multiberts sweep` against the same runs written as plain PyTorch +
# transformers loops (bench/sweep/torch_job.py, one process per run, as a sweep of HF scripts
# runs), one after the other on the same machine with the same threads. Prints the medians of
# RUNS rounds: wall time, peak memory, the ratio (PyTorch's time / ours: > 1 means we are
# faster) and where the time went on each side.
#
#   sweep: bench/sweep/minilm-sst2-5.toml, 5 MiniLM SST-2 jobs (2,000 examples, 2 epochs);
#          ours includes collecting the predictions and writing the report.
#   eval:  bench/sweep/eval.toml, one evaluation pass over the full SST-2 and QNLI dev sets
#          (batch 32, max length 128, file order); ours is `phases_s.eval` of each job.json.
#          Ours also runs bench/sweep/eval-length.toml (`eval_order = "length"`: batches of
#          similar length), shown as a second column.
#
# Usage: bench/sweep/run.sh [sweep|eval|all] [RUNS]      (default: all 3)
# Env: THREADS (default: all cores), VENV (default: bench/.venv), OUT (default:
# bench/out/sweep), MULTIBERTS_BIN (default: a release build of this checkout), SIDES (default
# "ours torch"; one side alone appends to OUT's results, to re-time one side). Needs the
# MiniLM checkpoint (.ci/fetch-minilm.sh puts it in target/minilm) and installs torch +
# transformers into the venv on first use (a large download). Run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

WHAT=${1:-all}
RUNS=${2:-3}
THREADS=${THREADS:-$(nproc)}
VENV=${VENV:-bench/.venv}
OUT=${OUT:-bench/out/sweep}
GLUE=${GLUE:-../shared/data/glue}
MODEL=target/minilm/all-MiniLM-L6-v2
case "$WHAT" in sweep|eval|all) ;; *) echo "usage: $0 [sweep|eval|all] [RUNS]" >&2; exit 2 ;; esac

if ! "$VENV/bin/python" -c "import torch, transformers" 2>/dev/null; then
  echo "installing torch + transformers into $VENV (large download)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch transformers
fi
if [ ! -f "$MODEL/model.safetensors" ]; then
  .ci/fetch-minilm.sh >/dev/null
fi
if [ -z "${MULTIBERTS_BIN:-}" ]; then
  cargo build --release -q -p multiberts-cli
  MULTIBERTS_BIN=${CARGO_TARGET_DIR:-target}/release/multiberts
fi

mkdir -p "$OUT"
SIDES=${SIDES:-ours torch}
RESULTS=$OUT/results.jsonl
if [ "$SIDES" = "ours torch" ]; then : > "$RESULTS"; fi
side() { case " $SIDES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
now() { date +%s.%N; }

# Ours: one sweep into a fresh results folder (its feature cache too); one JSON line from the
# job.json files it wrote.
ours() { # bench name, manifest, extra sweep options...
  local bench=$1 manifest=$2; shift 2
  local dir=$OUT/ours-$bench
  rm -rf "$dir"
  local t0; t0=$(now)
  /usr/bin/time -f %M -o "$OUT/ours-$bench.rss" \
    "$MULTIBERTS_BIN" sweep "$manifest" --threads-per-job "$THREADS" --jobs 1 \
    --results-dir "$dir" "$@" > "$OUT/ours-$bench.log" 2>&1
  local wall; wall=$(echo "$(now) - $t0" | bc)
  python3 bench/sweep/summarize.py ours-line "$bench" "$wall" "$(cat "$OUT/ours-$bench.rss")" "$dir" >> "$RESULTS"
}

# PyTorch: one process per run, one after the other; each prints a JSON line.
torch_runs() { # bench name, then torch_job.py arguments for every run, runs separated by ';'
  local bench=$1; shift
  local t0; t0=$(now)
  local lines=$OUT/torch-$bench.jsonl
  : > "$lines"
  local args=()
  for a in "$@" ";"; do
    if [ "$a" = ";" ]; then
      [ ${#args[@]} -gt 0 ] && "$VENV/bin/python" bench/sweep/torch_job.py --model "$MODEL" \
        --data "$GLUE" --threads "$THREADS" --out "$OUT/torch-$bench" "${args[@]}" \
        2> "$OUT/torch-$bench.log" | tail -n 1 >> "$lines"
      args=()
    else
      args+=("$a")
    fi
  done
  local wall; wall=$(echo "$(now) - $t0" | bc)
  python3 bench/sweep/summarize.py torch-line "$bench" "$wall" "$lines" >> "$RESULTS"
}

for run in $(seq 1 "$RUNS"); do
  echo "round $run of $RUNS ($(date -u +%H:%M:%S))" >&2
  if [ "$WHAT" != eval ]; then
    if side ours; then ours sweep bench/sweep/minilm-sst2-5.toml; fi
    if side torch; then
      torch_runs sweep --seed 0 ";" --seed 1 ";" --seed 2 ";" --seed 3 ";" --seed 4
    fi
  fi
  if [ "$WHAT" != sweep ]; then
    if side ours; then
      ours eval bench/sweep/eval.toml --no-collect
      ours eval-length bench/sweep/eval-length.toml --no-collect
    fi
    eval_args=(--train-examples 32 --epochs 1 --batch 32 --eval-batch 32 --max-len 128)
    if side torch; then
      torch_runs eval --task sst2 "${eval_args[@]}" ";" --task qnli-dev "${eval_args[@]}"
    fi
  fi
done

python3 bench/sweep/summarize.py table "$RESULTS" "$THREADS"
