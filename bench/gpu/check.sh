#!/usr/bin/env bash
# The GPU check (issue 13), run inside the folder bench/gpu/prepare.sh made, on a machine with
# an NVIDIA GPU, its driver, PyTorch and the CUDA 13 libraries, and no cargo or network:
#   (a) parity: the bert-tiny fixture on cuda:0 against PyTorch (forward, every gradient, two
#       AdamW steps) within 1e-4 of each tensor's max;
#   (b) the MiniLM SST-2 job on cuda:0 and on the CPU (same binary, same float16-stored
#       weights): GPU dev accuracy >= 0.80 and >= 98 % of predictions equal to the CPU's;
#   (c) speed: our training step and eval forward against PyTorch's on the same GPU, BERT-base,
#       batch 32 x 128, in fp32, tf32 and bf16 (medians of 10 after a warm-up), as ratios.
# Prints one summary at the end and exits non-zero if (a) or (b) fails. Logs and results go to
# ./out; when $OUT is set, summary.txt and check.tgz (all of ./out) are copied there. Each step
# has a time limit, so a hang costs minutes, not the whole lease.
#
# Usage: bash check.sh [STEPS]
# Env:   DRY_RUN=1 MULTIBERTS_BIN=path/to/a/cpu/build: the same steps on the CPU, with 64
#        training examples and no PyTorch, to check the script itself on a machine with no GPU.
#        ONLY="a b c d": the parts to run (default all; d = the bf16 job).
set -uo pipefail
cd "$(dirname "$0")"
STEPS=${1:-10}
DRY_RUN=${DRY_RUN:-0}
DEV=cuda:0
manifest=check.toml
if [ "$DRY_RUN" = 1 ]; then
  DEV=cpu
  sed 's/^max_train_examples = .*/max_train_examples = 64/' check.toml >dry-run.toml
  manifest=dry-run.toml
fi
out="$PWD/out"
rm -rf "$out" gpu-results cpu-results bf16-results
mkdir -p "$out"
export RUST_BACKTRACE=1
summary="$out/summary.txt"
: >"$summary"
say() { printf '%s\n' "$*" | tee -a "$summary"; }
status=0
ONLY=${ONLY:-a b c d}
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

bin=${MULTIBERTS_BIN:-./multiberts}
if [ -z "${MULTIBERTS_BIN:-}" ]; then
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('multiberts.xz'), open('multiberts', 'wb'))"
  chmod +x multiberts
fi

# The CUDA libraries the binary links: the driver's libcuda and the cuBLAS/cuRAND/runtime
# wheels in PyTorch's environment.
libs=$(python3 - <<'PY'
import glob, os, site
dirs = set()
for s in site.getsitepackages():
    for p in glob.glob(os.path.join(s, "nvidia", "**", "lib*.so*"), recursive=True):
        dirs.add(os.path.dirname(p))
print(":".join(sorted(dirs)))
PY
)
export LD_LIBRARY_PATH="${libs}:/usr/local/nvidia/lib64:/usr/local/nvidia/lib:${LD_LIBRARY_PATH:-}"
if ldd "$bin" | grep -q "not found"; then
  ldd "$bin" | tee -a "$out/ldd.txt"
  say "FAIL: libraries not found (see ldd above)"
  exit 1
fi
if [ "$DRY_RUN" = 1 ]; then
  say "dry run on the CPU: $bin"
else
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt"
  say "gpu: $(cat "$out/gpu.txt")"
fi
say "date: $(date -u +%Y-%m-%dT%H:%MZ)"

# (a) parity
if want a; then
say ""
say "== (a) parity on $DEV (bert-tiny fixture vs PyTorch, tolerance 1e-4 of each max)"
if timeout 120 "$bin" device-check parity --fixture fixture --device "$DEV" >"$out/parity.txt" 2>&1; then
  say "PASS: $(tail -n 1 "$out/parity.txt")"
else
  status=1
  say "FAIL:"; tail -n 20 "$out/parity.txt" | tee -a "$summary"
fi

fi

# (b) the MiniLM SST-2 job, on the GPU and on the CPU
if want b; then
say ""
say "== (b) MiniLM SST-2 job on $DEV and on the CPU"
start=$(date +%s)
timeout 240 "$bin" sweep "$manifest" --device "$DEV" --results-dir gpu-results --retries 0 >"$out/sweep-gpu.txt" 2>&1 || status=1
gpu_s=$(( $(date +%s) - start ))
start=$(date +%s)
timeout 240 "$bin" sweep "$manifest" --device cpu --threads-per-job "$(nproc)" --jobs 1 --results-dir cpu-results --retries 0 >"$out/sweep-cpu.txt" 2>&1 || status=1
cpu_s=$(( $(date +%s) - start ))
say "wall: gpu ${gpu_s}s, cpu (${NPROC:-$(nproc)} threads) ${cpu_s}s"
gpu_pred=$(find gpu-results -name predictions.parquet -path '*sst2*' | head -n 1)
cpu_pred=$(find cpu-results -name predictions.parquet -path '*sst2*' | head -n 1)
if [ -n "$gpu_pred" ] && [ -n "$cpu_pred" ]; then
  cp "$gpu_pred" "$out/gpu-predictions.parquet"
  cp "$cpu_pred" "$out/cpu-predictions.parquet"
  find gpu-results -name job.json -path '*sst2*' -exec cp {} "$out/gpu-job.json" \;
  python3 compare.py "$gpu_pred" "$cpu_pred" | tee -a "$summary" || status=1
else
  status=1
  say "FAIL: a run wrote no predictions"; tail -n 30 "$out/sweep-gpu.txt" "$out/sweep-cpu.txt" | tee -a "$summary"
  for f in gpu-results/*/logs/*.log; do [ -f "$f" ] && tail -n 30 "$f" | tee -a "$summary"; done
fi

fi

# (c) speed against PyTorch
if want c; then
say ""
say "== (c) BERT-base, batch 32 x 128 (a quarter padded), median of $STEPS after a warm-up"
: >"$out/bench.jsonl"
if [ "$DRY_RUN" = 1 ]; then precisions="fp32 bf16"; size=tiny; else precisions="fp32 tf32 bf16"; size=base; fi
for p in $precisions; do
  [ "$DRY_RUN" = 1 ] && { "$bin" device-check bench --size "$size" --device cpu --precision "$p" --batch 4 --seq 32 --steps 2 >>"$out/bench.jsonl" 2>"$out/bench-$p.err" || { status=1; tail -n 5 "$out/bench-$p.err" | tee -a "$summary"; }; continue; }
  timeout 120 "$bin" device-check bench --size base --device cuda:0 --precision "$p" --batch 32 --seq 128 --steps "$STEPS" >>"$out/bench.jsonl" 2>"$out/bench-$p.err" || { status=1; tail -n 5 "$out/bench-$p.err" | tee -a "$summary"; }
  timeout 120 python3 torch_bench.py --precision "$p" --batch 32 --seq 128 --steps "$STEPS" >>"$out/bench.jsonl" 2>"$out/torch-$p.err" || tail -n 5 "$out/torch-$p.err" | tee -a "$summary"
done
python3 - "$out/bench.jsonl" <<'PY' | tee -a "$summary"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["impl"], r["mode"], r["precision"]): r for r in rows}
print(f"{'mode':5} {'prec':5} {'ours ms':>8} {'torch ms':>9} {'speed':>6}   ours fwd/bwd/opt ms")
for mode in ("train", "eval"):
    for p in ("fp32", "tf32", "bf16"):
        o, t = by.get(("candle", mode, p)), by.get(("torch", mode, p))
        if not o or not t:
            print(f"{mode:5} {p:5} missing")
            continue
        ph = "/".join(f"{1000*o[k]:.1f}" for k in ("forward_s", "backward_s", "optimizer_s") if k in o)
        print(f"{mode:5} {p:5} {1000*o['median_s']:8.1f} {1000*t['median_s']:9.1f} "
              f"{t['median_s']/o['median_s']:5.2f}x   {ph}")
o32 = by.get(("candle", "train", "fp32")); o16 = by.get(("candle", "train", "bf16"))
if o32 and o16:
    print(f"our bf16 training step vs our fp32: {o32['median_s']/o16['median_s']:.2f}x")
print("speed = torch time / our time (>= 1.00 means at least as fast as PyTorch)")
PY

fi

# The same job in bf16 (autocast): does reduced precision train as well? (Reported, not judged.)
if want d && want b && [ "$DRY_RUN" != 1 ]; then
  say ""
  say "== bf16: the MiniLM SST-2 job on $DEV with precision = bf16"
  sed 's/^max_train_examples = 4000$/max_train_examples = 4000\nprecision = "bf16"/' check.toml >bf16.toml
  start=$(date +%s)
  if timeout 240 "$bin" sweep bf16.toml --device "$DEV" --results-dir bf16-results --retries 0 >"$out/sweep-bf16.txt" 2>&1; then
    bf16_pred=$(find bf16-results -name predictions.parquet -path '*sst2*' | head -n 1)
    say "wall $(( $(date +%s) - start ))s; against the fp32 CPU run:"
    python3 compare.py "$bf16_pred" "$cpu_pred" | tee -a "$summary"
  else
    say "bf16 run failed:"; tail -n 15 "$out/sweep-bf16.txt" | tee -a "$summary"
  fi
fi

say ""
if [ "$status" = 0 ]; then say "GPU CHECK: PASS"; else say "GPU CHECK: FAIL"; fi
if [ -n "${OUT:-}" ]; then
  cp "$summary" "$OUT/summary.txt"
  tar czf "$OUT/check.tgz" -C "$out" .
fi
exit "$status"
