"""The reference Multi-Bootstrap (google-research/language, multiberts/multibootstrap.py),
re-stated in our own words for benchmarks and golden outputs.

It keeps every behaviour that matters for compatibility: numpy's legacy RandomState, the
draw order (base seeds, expt seeds when unpaired, then examples), `choice(...)` with
replacement for every draw, per-seed mean over runs then mean over drawn seeds with
`np.mean`, report statistics with pandas' mean and `np.quantile`, and the 1/nboot p-value
floor. See ../../docs/bootstrap.md and ../shared/notes/paper.md §3.
"""

import numpy as np
import pandas as pd


def _resample(items, rng):
    # n draws with replacement from n items: legacy randint(0, n) per element.
    return rng.choice(items, size=len(items), replace=True)


def multibootstrap(run_info, preds, labels, score_fn, paired_seeds=False,
                   sample_seeds=True, sample_examples=True, nboot=500,
                   rng=np.random, verbose=False):
    """Returns a list of (L, L') pairs, one per draw.

    run_info: DataFrame with 'seed' and 'intervention' (bool) columns, rows aligned with preds.
    score_fn(labels, predictions) -> float (labels first).
    """
    assert len(run_info) == len(preds)
    assert len(labels) == preds.shape[1]
    n = len(labels)
    run_info = run_info.reset_index(drop=True)
    expt_mask = run_info['intervention']
    base_rows = run_info[~expt_mask].groupby('seed').groups
    expt_rows = run_info[expt_mask].groupby('seed').groups
    if isinstance(rng, int):
        rng = np.random.RandomState(rng)

    if paired_seeds:
        shared = list(set(base_rows.keys()).intersection(expt_rows.keys()))
        one_sided = set(base_rows.keys()).symmetric_difference(expt_rows.keys())
        if verbose and one_sided:
            print(f'  Warning: seeds on one side only, omitted: {sorted(one_sided)}')
        base_seeds = expt_seeds = shared
    else:
        base_seeds = list(sorted(base_rows.keys()))
        expt_seeds = list(sorted(expt_rows.keys()))

    def side_score(rows_of, seeds, score_row):
        per_seed = []
        for s in seeds:
            per_seed.append(np.mean([score_row(i) for i in rows_of[s]]))
        return np.mean(per_seed)

    out = []
    for _ in range(nboot):
        if sample_seeds:
            if paired_seeds:
                sb = _resample(base_seeds, rng)
                se = sb
            else:
                sb = _resample(base_seeds, rng)
                se = _resample(expt_seeds, rng)
        else:
            sb, se = base_seeds, expt_seeds
        if sample_examples:
            jj = rng.choice(n, size=n, replace=True)
            y = labels[jj]
            score_row = lambda i, y=y, jj=jj: score_fn(y, preds[i, jj])
        else:
            score_row = lambda i: score_fn(labels, preds[i])
        out.append((side_score(base_rows, sb, score_row),
                    side_score(expt_rows, se, score_row)))
    return out


def report_ci(samples, c=0.95, abs_threshold=None, rel_threshold=None,
              expect_negative_effect=False):
    """Returns (stats dict, printed lines) exactly as the reference prints them."""
    lines = []
    q = [(1 - c) / 2, 1 - (1 - c) / 2]
    df = pd.DataFrame(samples, columns=['base', 'expt'])
    lines.append(f'Bootstrap statistics from {len(df)} samples:')
    ret = {}
    bu = df.base.mean()
    blo, bhi = np.quantile(df.base, q)
    lines.append(f'  E[L]  = {bu:.3g} with {c:.0%} CI of ({blo:.3g} to {bhi:.3g})')
    ret['base'] = {'mean': bu, 'low': blo, 'high': bhi}
    eu = df.expt.mean()
    elo, ehi = np.quantile(df.expt, q)
    lines.append(f"  E[L'] = {eu:.3g} with {c:.0%} CI of ({elo:.3g} to {ehi:.3g})")
    ret['expt'] = {'mean': eu, 'low': elo, 'high': ehi}
    d = df.expt - df.base
    du = np.mean(d)
    dlo, dhi = np.quantile(d, q)
    p = np.mean(d >= 0) if expect_negative_effect else np.mean(d <= 0)
    if p == 0:
        p = 1.0 / len(df)
    lines.append(f"  E[L'-L] = {du:.3g} with {c:.0%} CI of ({dlo:.3g} to {dhi:.3g})"
                 f'; p-value = {p:.3g}')
    ret['delta'] = {'mean': du, 'low': dlo, 'high': dhi, 'p': p}
    if rel_threshold:
        if expect_negative_effect:
            pt = (d / df.base <= -1 * rel_threshold).mean()
            lines.append(f"  E[(L'-L)/L ≤ {-1*rel_threshold:.3g}] = {pt:0.2f}")
        else:
            pt = (d / df.base >= rel_threshold).mean()
            lines.append(f"  E[(L'-L)/L ≥ {rel_threshold:.3g}] = {pt:0.2f}")
        ret['rel'] = pt
    if abs_threshold is not None:
        if expect_negative_effect:
            pt = (d <= -1 * abs_threshold).mean()
            lines.append(f"  E[L' ≤ L - {abs_threshold:.3g}] = {pt:0.2f}")
        else:
            pt = (d >= abs_threshold).mean()
            lines.append(f"  E[L' ≥ L + {abs_threshold:.3g}] = {pt:0.2f}")
        ret['abs'] = pt
    return ret, lines


# Score functions with the reference's (labels, predictions) argument order.

def accuracy(y, p):
    return np.mean(y == p)


def f1_binary(y, p):
    tp = np.sum((y == 1) & (p == 1))
    fp = np.sum((y != 1) & (p == 1))
    fn = np.sum((y == 1) & (p != 1))
    return 2 * tp / (2 * tp + fp + fn)


def mcc(y, p):
    k = int(max(y.max(), p.max())) + 1
    cm = np.zeros((k, k))
    np.add.at(cm, (y.astype(int), p.astype(int)), 1)
    t = cm.sum(axis=1)
    pr = cm.sum(axis=0)
    s = cm.sum()
    c = np.trace(cm)
    return (c * s - t @ pr) / np.sqrt((s * s - pr @ pr) * (s * s - t @ t))


def pearson(y, p):
    return np.corrcoef(y, p)[0, 1]


def spearman(y, p):
    import scipy.stats
    return scipy.stats.spearmanr(y, p).statistic


def mean_score(y, p):
    return np.mean(p)


SCORES = {'accuracy': accuracy, 'f1': f1_binary, 'mcc': mcc, 'pearson': pearson,
          'spearman': spearman, 'mean': mean_score}
