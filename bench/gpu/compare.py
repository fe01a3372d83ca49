"""Compares the GPU run's predictions with the CPU run's (bench/gpu/check.sh, item b).

Usage: python3 compare.py GPU.parquet CPU.parquet
Passes when the GPU run's dev accuracy is >= 0.80 and >= 98 % of its predictions equal the
CPU run's; prints both accuracies, the agreement and the largest score difference.
"""

import sys

import pyarrow.parquet as pq


def rows(path):
    t = pq.read_table(path, columns=["example_index", "label", "prediction", "scores"]).to_pylist()
    return sorted(t, key=lambda r: r["example_index"])


def main() -> int:
    gpu, cpu = rows(sys.argv[1]), rows(sys.argv[2])
    if [r["example_index"] for r in gpu] != [r["example_index"] for r in cpu]:
        print("FAIL: the two runs predicted different examples")
        return 1
    n = len(gpu)
    acc = lambda rs: sum(r["prediction"] == r["label"] for r in rs) / n
    agree = sum(g["prediction"] == c["prediction"] for g, c in zip(gpu, cpu)) / n
    diff = max(abs(a - b) for g, c in zip(gpu, cpu) for a, b in zip(g["scores"], c["scores"]))
    ok = acc(gpu) >= 0.80 and agree >= 0.98
    print(f"{'PASS' if ok else 'FAIL'}: {n} dev examples; accuracy gpu {acc(gpu):.4f}, "
          f"cpu {acc(cpu):.4f}; predictions equal on {agree:.2%}; "
          f"max |score difference| {diff:.3g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
