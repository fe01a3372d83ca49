"""Writes golden outputs of the reference algorithm for crates/bootstrap/tests/golden/.

Usage: bench/.venv/bin/python bench/bootstrap/make_golden.py
Every input is generated here from fixed seeds and stored in the JSON next to the outputs, so
the Rust test needs no Python.
"""

import json
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
import multibootstrap_ref as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'crates', 'bootstrap', 'tests',
                   'golden')


def make_problem(seed, n, base_seeds, expt_seeds, runs_per_seed, kind, classes=2):
    g = np.random.RandomState(seed)
    runs = [(s, False) for s in base_seeds for _ in range(runs_per_seed)]
    runs += [(s, True) for s in expt_seeds for _ in range(runs_per_seed)]
    if kind == 'class':
        labels = g.randint(0, classes, size=n).astype(float)
        acc = {False: 0.7, True: 0.75}
        preds = []
        for s, e in runs:
            keep = g.rand(n) < acc[e] + 0.02 * (s % 3)
            other = g.randint(0, classes, size=n)
            preds.append(np.where(keep, labels, other).astype(float))
    else:
        labels = np.round(g.rand(n) * 5, 2)
        preds = []
        for s, e in runs:
            noise = 1.0 + 0.3 * (s % 3) + (0.2 if e else 0.0)
            preds.append(np.round(labels + g.randn(n) * noise, 3))
    return labels, np.array(preds), runs


CASES = [
    dict(name='paired_accuracy', seed=1, n=40, base=[0, 1, 2], expt=[0, 1, 2], rps=2,
         kind='class', metric='accuracy', paired=True, ss=True, se=True, nboot=200,
         rng=42, c=0.95, abs=0.01, rel=0.02, neg=False),
    dict(name='unpaired_accuracy_3class_negative', seed=2, n=60, base=[0, 1, 2],
         expt=[3, 4, 5, 6], rps=3, kind='class', classes=3, metric='accuracy', paired=False,
         ss=True, se=True, nboot=300, rng=7, c=0.9, abs=0.0, rel=0.05, neg=True),
    dict(name='paired_mcc_one_sided_seed', seed=3, n=50, base=[0, 1, 2, 3], expt=[1, 2, 3, 4],
         rps=2, kind='class', metric='mcc', paired=True, ss=True, se=True, nboot=200, rng=3,
         c=0.95, abs=None, rel=None, neg=False),
    dict(name='unpaired_pearson_seeds_only', seed=4, n=30, base=[0, 1, 2, 3], expt=[0, 1, 2],
         rps=2, kind='reg', metric='pearson', paired=False, ss=True, se=False, nboot=150,
         rng=11, c=0.95, abs=None, rel=None, neg=False),
    dict(name='paired_f1_examples_only', seed=5, n=45, base=[0, 1], expt=[0, 1], rps=3,
         kind='class', metric='f1', paired=True, ss=False, se=True, nboot=150, rng=5,
         c=0.95, abs=0.02, rel=None, neg=False),
    dict(name='unpaired_mean_one_seed_each', seed=6, n=35, base=[0], expt=[1], rps=4,
         kind='reg', metric='mean', paired=False, ss=True, se=True, nboot=120, rng=42,
         c=0.95, abs=None, rel=None, neg=True),
    dict(name='paired_spearman', seed=7, n=25, base=[0, 1, 2], expt=[0, 1, 2], rps=2,
         kind='reg', metric='spearman', paired=True, ss=True, se=True, nboot=100, rng=9,
         c=0.95, abs=None, rel=0.01, neg=False),
]


def numpy_vectors():
    g = np.random.RandomState(99)
    sums = []
    for n in [1, 2, 7, 8, 9, 15, 16, 17, 100, 128, 129, 200, 255, 256, 257, 1000, 1001]:
        a = g.randn(n) * 10 ** g.uniform(-3, 3, size=n)
        sums.append({'values': a.tolist(), 'sum': float(np.sum(a)), 'mean': float(np.mean(a))})
    quants = []
    for n in [1, 2, 5, 100, 1000]:
        a = np.sort(g.rand(n))
        for c in [0.95, 0.9, 0.5, 0.99]:
            q = [(1 - c) / 2, 1 - (1 - c) / 2]
            lo, hi = np.quantile(a, q)
            quants.append({'values': a.tolist(), 'c': c, 'low': float(lo), 'high': float(hi)})
    choices = []
    for seed, k in [(42, 25), (42, 720), (0, 9815), (123, 1), (5, 60), (2**32 - 1, 11873)]:
        rs = np.random.RandomState(seed)
        first = rs.choice(k, size=k)[:20].tolist()
        second = rs.choice(list(range(k)), size=k)[:20].tolist()
        choices.append({'seed': seed, 'k': k, 'first': first, 'second': second})
    return {'pairwise': sums, 'quantile': quants, 'choice': choices}


def main():
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        labels, preds, runs = make_problem(case['seed'], case['n'], case['base'], case['expt'],
                                           case['rps'], case['kind'], case.get('classes', 2))
        run_info = pd.DataFrame(runs, columns=['seed', 'intervention'])
        samples = ref.multibootstrap(run_info, preds, labels, ref.SCORES[case['metric']],
                                     paired_seeds=case['paired'], sample_seeds=case['ss'],
                                     sample_examples=case['se'], nboot=case['nboot'],
                                     rng=case['rng'])
        stats, lines = ref.report_ci(samples, c=case['c'], abs_threshold=case['abs'],
                                     rel_threshold=case['rel'],
                                     expect_negative_effect=case['neg'])
        doc = {
            'case': case,
            'labels': labels.tolist(),
            'preds': preds.tolist(),
            'runs': [{'seed': int(s), 'expt': bool(e)} for s, e in runs],
            'samples': [[float(b), float(e)] for b, e in samples],
            'stats': json.loads(json.dumps(stats, default=float)),
            'lines': lines,
        }
        with open(os.path.join(OUT, case['name'] + '.json'), 'w') as f:
            json.dump(doc, f)
        print(case['name'], *lines, sep='\n')
    with open(os.path.join(OUT, 'numpy_vectors.json'), 'w') as f:
        json.dump(numpy_vectors(), f)


if __name__ == '__main__':
    main()
