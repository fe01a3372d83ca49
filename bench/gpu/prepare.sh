#!/usr/bin/env bash
# Prepares the GPU check on a CPU machine: a folder to copy to a machine with an NVIDIA GPU,
# no cargo and no network, where `bash check.sh` inside it runs the whole check (see
# bench/gpu/check.sh and docs/bench/gpu.md).
#
# Usage: bench/gpu/prepare.sh [OUT_DIR]      (default: target/gpu-check)
# Env:   CUDA_COMPUTE_CAP (default 90: H100/H200), MINILM_DIR (default: .ci/fetch-minilm.sh's).
#
# What goes into OUT_DIR (about 60 MB, under the 64 MiB a GPU lease here can carry):
# - multiberts.xz: `cargo build --release --features cuda` of this checkout, stripped, xz'd.
#   Built with the CUDA 13.0 compiler from PyPI and link-time stand-ins for the driver's and
#   cuBLAS's libraries (.ci/cuda-toolchain.sh); the real ones are found on the GPU machine.
# - fixture/: the bert-tiny parity fixture (../shared/fixtures/bert-tiny), for item (a).
# - minilm-f16/: all-MiniLM-L6-v2 with its weights stored as float16 (45 MB instead of 91 MB,
#   so the folder fits the transfer limit; loaded as float32). The CPU reference and the GPU
#   run both start from this same file, so the agreement they are compared on is exact.
# - data/glue/SST-2: GLUE SST-2's dev set and the first 4,000 training examples.
# - check.toml: the MiniLM SST-2 job of manifests/minilm-sst2.toml on those files.
# - check.sh, compare.py, torch_bench.py: what runs there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/target/gpu-check}"
shared="$root/../shared"
log() { printf 'prepare: %s\n' "$*" >&2; }

rm -rf "$out"
mkdir -p "$out/fixture" "$out/data/glue/SST-2" "$out/minilm-f16"

log "CUDA toolchain"
eval "$("$root/.ci/cuda-toolchain.sh")"
log "building the CUDA binary (CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP)"
(cd "$root" && cargo build --release --locked -p multiberts-cli --features cuda \
  --target-dir "$root/target/cuda")
strip -o "$out/multiberts" "$root/target/cuda/release/multiberts"
xz -T0 -6 "$out/multiberts"

log "fixture, data"
# pytorch_model.bin holds the same tensors as model.safetensors in half the bytes (tied once).
cp "$shared/fixtures/bert-tiny/"{config.json,pytorch_model.bin,batch.json,expected.safetensors} "$out/fixture/"
cp "$shared/data/glue/SST-2/dev.tsv" "$out/data/glue/SST-2/"
head -n 4001 "$shared/data/glue/SST-2/train.tsv" >"$out/data/glue/SST-2/train.tsv"

log "all-MiniLM-L6-v2 as float16"
minilm="${MINILM_DIR:-$("$root/.ci/fetch-minilm.sh")}"
venv="$root/target/gpu-venv"
if ! "$venv/bin/python" -c "import numpy, safetensors" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy safetensors
fi
"$venv/bin/python" - "$minilm/model.safetensors" "$out/minilm-f16/model.safetensors" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file, save_file
tensors = load_file(sys.argv[1])
save_file({k: (v.astype(np.float16) if v.dtype == np.float32 else v) for k, v in tensors.items()},
          sys.argv[2], metadata={"format": "pt"})
PY
cp "$minilm/"{config.json,vocab.txt,tokenizer_config.json,special_tokens_map.json} "$out/minilm-f16/"

cat >"$out/check.toml" <<'TOML'
# The MiniLM SST-2 job of manifests/minilm-sst2.toml, on the float16-stored MiniLM.
name = "gpu-check-minilm"
description = "all-MiniLM-L6-v2 (float16-stored) fine-tuned on the first 4000 SST-2 training examples"
data_dir = "data/glue"

[defaults]
max_seq_len = 64
batch_size = 32
eval_batch_size = 16
epochs = 1
learning_rates = [2e-4]
finetune_seeds = [0]
warmup_ratio = 0.1
weight_decay = 0.01
max_train_examples = 4000

[[checkpoints]]
path = "minilm-f16"
id = "all-minilm-l6-v2-f16"
seeds = [0]

[[tasks]]
name = "sst2"
TOML

cp "$root/bench/gpu/check.sh" "$root/bench/gpu/compare.py" "$root/bench/gpu/torch_bench.py" "$out/"
du -sh "$out" >&2
log "ready: copy $out to the GPU machine and run 'bash check.sh' inside it"
