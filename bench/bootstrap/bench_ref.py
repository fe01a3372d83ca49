"""Benchmark cases for the Multi-Bootstrap: writes their inputs, then times the Python
reference (multibootstrap_ref.py) on them.

Usage: python bench_ref.py OUT_DIR [--reps N] [--only-data]
Writes OUT_DIR/<case>.{preds,labels,seeds,expt}.bin and OUT_DIR/<case>.json (shape), and prints
one JSON line per case with the median wall time of `multibootstrap + report_ci`.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
import multibootstrap_ref as ref  # noqa: E402

CASES = {
    # GLUE MNLI-m, 1M vs 2M steps: 5 seeds x 2 sides x 15 runs (3 lr x 5 ft seeds), paired.
    'mnli_paired': dict(n=9815, classes=3, base_seeds=list(range(5)),
                        expt_seeds=list(range(5)), rps=15, paired=True, acc=(0.837, 0.844)),
    # Winogender coref: 25 seeds x 5 runs per side, independent seeds (CDA-incr vs CDA-full).
    'coref_unpaired': dict(n=720, classes=2, base_seeds=list(range(25)),
                           expt_seeds=list(range(100, 125)), rps=5, paired=False,
                           acc=(0.623, 0.622)),
}
NBOOT = 1000
RNG_SEED = 42


def make(case, seed=0):
    g = np.random.RandomState(seed)
    labels = g.randint(0, case['classes'], size=case['n'])
    runs, preds = [], []
    for expt, seeds in ((False, case['base_seeds']), (True, case['expt_seeds'])):
        acc = case['acc'][int(expt)]
        for s in seeds:
            seed_acc = acc + 0.01 * g.randn()
            for _ in range(case['rps']):
                keep = g.rand(case['n']) < seed_acc + 0.003 * g.randn()
                wrong = (labels + g.randint(1, case['classes'], size=case['n'])) % case['classes']
                preds.append(np.where(keep, labels, wrong))
                runs.append((s, expt))
    return labels.astype(np.uint8), np.array(preds, dtype=np.uint8), runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--only-data', action='store_true')
    ap.add_argument('--cases', default=','.join(CASES))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.cases.split(','):
        case = CASES[name]
        labels, preds, runs = make(case)
        base = os.path.join(args.out, name)
        preds.tofile(base + '.preds.bin')
        labels.tofile(base + '.labels.bin')
        np.array([s for s, _ in runs], dtype='<u8').tofile(base + '.seeds.bin')
        np.array([e for _, e in runs], dtype=np.uint8).tofile(base + '.expt.bin')
        with open(base + '.json', 'w') as f:
            json.dump({'runs': len(runs), 'n': int(case['n']), 'paired': case['paired'],
                       'nboot': NBOOT, 'rng': RNG_SEED}, f)
        if args.only_data:
            continue
        run_info = pd.DataFrame(runs, columns=['seed', 'intervention'])
        # The reference compares labels and predictions of the same dtype, like the notebooks.
        y = labels.astype(np.int64)
        p = preds.astype(np.int64)
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            samples = ref.multibootstrap(run_info, p, y, ref.accuracy,
                                         paired_seeds=case['paired'], nboot=NBOOT, rng=RNG_SEED)
            _, lines = ref.report_ci(samples)
            times.append(time.perf_counter() - t0)
        print(json.dumps({'case': name, 'impl': 'reference', 'median_s': statistics.median(times),
                          'times_s': times, 'lines': lines}), flush=True)


if __name__ == '__main__':
    main()
