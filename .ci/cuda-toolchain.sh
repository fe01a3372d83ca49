#!/usr/bin/env bash
# Installs a CUDA 13.0 compiler from PyPI into a cache folder, so that `--features cuda` builds on
# a machine with no GPU and no CUDA toolkit, and prints the environment to build with (the only
# thing written to stdout):
#
#   eval "$(.ci/cuda-toolchain.sh)"
#   cargo clippy --workspace --all-targets --features multiberts-cli/cuda -- -D warnings
#   cargo build --release -p multiberts-cli --features cuda
#
# Usage: .ci/cuda-toolchain.sh [CACHE_DIR]
#   CACHE_DIR defaults to $MULTIBERTS_CUDA_CACHE, else target/cuda-toolchain in this checkout.
#   Idempotent: a complete earlier install is reused; an interrupted one never looks complete
#   (the folder is moved into place last).
#
# What it makes:
# - $CACHE_DIR/nvidia/cu13: nvcc 13.0 with its front end (cicc), headers (CUDA runtime, CCCL)
#   and the real libcudart.so.13. candle-kernels compiles its .cu files with this nvcc for
#   CUDA_COMPUTE_CAP (default 90, the H100/H200); cudarc reads its version (13.0) from it.
# - $CACHE_DIR/nvidia/cu13/lib/stubs: LINK-TIME STAND-INS for the libraries that ship with the
#   driver or in large wheels: libcuda.so (soname libcuda.so.1), libnvrtc.so (libnvrtc.so.13),
#   libcurand.so (libcurand.so.10), libcublas.so (libcublas.so.13), libcublasLt.so
#   (libcublasLt.so.13). Each defines, as empty functions, every symbol that cudarc's bindings load
#   from that library, and carries the real library's soname, so the linked binary asks the
#   dynamic loader for the real library at run time (sonames checked against the nvidia-cublas
#   13.10, nvidia-curand 10.4 and nvidia-cuda-nvrtc 13.x wheels). They are never loaded: a binary
#   run where only the stand-ins are found fails at start-up with "libcuda.so.1: cannot open
#   shared object file". This is what the CUDA toolkit's own lib64/stubs/libcuda.so is for.
#   Never put this folder on LD_LIBRARY_PATH.
#
# On a real CUDA machine, build with the installed toolkit instead (nvcc on PATH or CUDA_HOME);
# this script is for CI and for building a binary to carry to a GPU machine.
set -euo pipefail

# CUDA 13.0, not newer: driver 580 (CUDA 13.0), which the H200 machines we target run, cannot load
# PTX from a newer nvcc.
WHEELS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-nvvm==13.0.88
  nvidia-cuda-cccl==13.0.85
)
STAMP="cuda-13.0.88 stubs-2"

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${1:-${MULTIBERTS_CUDA_CACHE:-$root/target/cuda-toolchain}}"
home="$cache/nvidia/cu13"
marker="$cache/.installed"

log() { printf 'cuda-toolchain: %s\n' "$*" >&2; }

print_env() {
  printf 'export CUDA_HOME=%q\n' "$home"
  printf 'export NVCC=%q\n' "$home/bin/nvcc"
  printf 'export PATH=%q:"$PATH"\n' "$home/bin"
  # No GPU to ask: compile for this compute capability (90 = Hopper: H100, H200).
  printf 'export CUDA_COMPUTE_CAP=%q\n' "${CUDA_COMPUTE_CAP:-90}"
}

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$STAMP" ]; then
  log "already installed: $home"
  print_env
  exit 0
fi

python=$(command -v python3 || command -v python || true)
if [ -z "$python" ]; then
  log "error: python3 with pip is needed to install the CUDA compiler from PyPI"
  exit 1
fi

# The stand-ins' symbols come from cudarc's own bindings, so they follow the version in Cargo.lock.
cudarc_version=$(awk '/^name = "cudarc"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$root/Cargo.lock")
if [ -z "$cudarc_version" ]; then
  log "error: no cudarc in $root/Cargo.lock"
  exit 1
fi
(cd "$root" && cargo fetch --locked >/dev/null 2>&1) || true
cudarc_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"cudarc-$cudarc_version" 2>/dev/null | head -n 1)
if [ -z "$cudarc_src" ] || [ ! -d "$cudarc_src/src/driver/sys" ]; then
  log "error: cudarc $cudarc_version sources not found in the cargo registry (run 'cargo fetch' first)"
  exit 1
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log "installing ${WHEELS[*]} from PyPI into $cache"
"$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
  --target "$tmp/site" "${WHEELS[@]}" >&2
chmod +x "$tmp/site/nvidia/cu13/bin/"* "$tmp/site/nvidia/cu13/nvvm/bin/"* 2>/dev/null || true

lib="$tmp/site/nvidia/cu13/lib"
# candle-kernels links `cudart` by its unversioned name; the wheel has only the soname.
ln -sf libcudart.so.13 "$lib/libcudart.so"

stubs="$lib/stubs"
mkdir -p "$stubs"
make_stub() { # make_stub NAME SONAME BINDINGS_DIR
  local name=$1 soname=$2 bindings=$3 c="$tmp/$1.c"
  grep -ohE 'load::<_F>\("[A-Za-z_][A-Za-z0-9_]*"\)' "$cudarc_src/src/$bindings/sys/"*.rs \
    | sed -E 's/.*\("([^"]+)"\)/\1/' | sort -u \
    | awk '{ printf "void %s(void) {}\n", $1 }' >"$c"
  if [ ! -s "$c" ]; then
    log "error: found no symbols for $name in $cudarc_src/src/$bindings/sys"
    exit 1
  fi
  cc -shared -fPIC -Wl,-soname,"$soname" -o "$stubs/lib$name.so" "$c"
  log "stand-in lib$name.so ($soname): $(wc -l <"$c") symbols"
}
make_stub cuda libcuda.so.1 driver
make_stub nvrtc libnvrtc.so.13 nvrtc
make_stub curand libcurand.so.10 curand
make_stub cublas libcublas.so.13 cublas
make_stub cublasLt libcublasLt.so.13 cublaslt

"$tmp/site/nvidia/cu13/bin/nvcc" --version >&2

rm -rf "$cache/nvidia"
mv "$tmp/site/nvidia" "$cache/nvidia"
printf '%s\n' "$STAMP" >"$marker"
log "installed: $home"
print_env
