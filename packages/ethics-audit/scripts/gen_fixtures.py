#!/usr/bin/python3
"""Generates the reference values in test/fixtures/ for @nutshell/ethics-audit.

Run with Debian's Python (apt-get install -y python3-sklearn python3-scipy python3-mpmath):
    /usr/bin/python3 packages/ethics-audit/scripts/gen_fixtures.py

fairlearn, AIF360 and Opacus are not in Debian, so their published definitions are written out
here by hand on top of numpy/scikit-learn/scipy:
  * fairlearn: MetricFrame by_group/overall, difference/ratio (between_groups, to_overall),
    demographic_parity_*, equalized_odds_* (worst_case), equal_opportunity_*; rates from
    sklearn.metrics.confusion_matrix with sample_weight, 0/0 -> 0 like normalize="true".
  * AIF360: disparate impact, statistical parity / equal opportunity / average odds differences,
    generalized entropy index (alpha = 1: Theil), Reweighing weights.
  * Opacus RDP accountant (opacus/accountants/analysis/rdp.py): the log A_alpha series for integer
    and fractional orders and the Balle et al. 2020 conversion. Cross-checked against direct
    numerical integration of A_alpha with mpmath.
  * Gaussian DP (Balle & Wang 2018) exact delta(eps), the ground truth for the PRV accountant at q = 1.
"""
import json
import math
import os

import mpmath
import numpy as np
from scipy import special, stats
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
os.makedirs(OUT, exist_ok=True)


# ---------------------------------------------------------------- fairness (fairlearn / AIF360)

def rates(y_true, y_pred, w, pos):
    labels = sorted(set(y_true) | set(y_pred), key=lambda v: (v != pos, v))
    if len(labels) == 1:
        labels = labels + ['__other__']
    neg = [l for l in labels if l != pos][0]
    cm = confusion_matrix(y_true, y_pred, labels=[neg, pos], sample_weight=w)
    tn, fp, fn, tp = cm.ravel()
    tpr = tp / (tp + fn) if tp + fn > 0 else 0.0
    fpr = fp / (fp + tn) if fp + tn > 0 else 0.0
    sel = (np.sum(np.asarray(w) * (np.asarray(y_pred) == pos)) / np.sum(w))
    return float(sel), float(tpr), float(fpr)


def fairlearn_case(name, y_true, y_pred, groups, w=None, pos=1, method='between_groups'):
    n = len(y_true)
    wt = np.ones(n) if w is None else np.asarray(w, dtype=float)
    keys = sorted(set(groups), key=lambda g: (float(g) if isinstance(g, (int, float)) else g))
    overall = dict(zip(['selection_rate', 'tpr', 'fpr'], rates(y_true, y_pred, wt, pos)))
    by = {}
    for g in keys:
        idx = [i for i in range(n) if groups[i] == g]
        s, t, f = rates([y_true[i] for i in idx], [y_pred[i] for i in idx], wt[idx], pos)
        by[str(g)] = {'selection_rate': s, 'tpr': t, 'fpr': f, 'count': len(idx)}

    def diff(m):
        col = [by[k][m] for k in by]
        if method == 'between_groups':
            return max(col) - min(col)
        return max(abs(v - overall[m]) for v in col)

    def ratio(m):
        col = [by[k][m] for k in by]
        if method == 'between_groups':
            return min(col) / max(col) if max(col) != 0 else float('nan')
        return min((v / overall[m]) if v <= overall[m] else (overall[m] / v) for v in col)

    return {
        'name': name,
        'input': {'y_true': y_true, 'y_pred': y_pred, 'sensitive_features': groups,
                  **({'sample_weight': [float(x) for x in w]} if w is not None else {}),
                  'pos_label': pos, 'method': method},
        'expected': {
            'demographic_parity_difference': diff('selection_rate'),
            'demographic_parity_ratio': ratio('selection_rate'),
            'equalized_odds_difference': max(diff('tpr'), diff('fpr')),
            'equalized_odds_ratio': min(ratio('tpr'), ratio('fpr')),
            'equal_opportunity_difference': diff('tpr'),
            'equal_opportunity_ratio': ratio('tpr'),
            'overall': overall,
            'by_group': by,
        },
    }


def aif360_case(name, y_true, y_pred, prot, privileged, w=None):
    n = len(y_true)
    wt = np.ones(n) if w is None else np.asarray(w, dtype=float)
    yt, yp, pa = np.asarray(y_true), np.asarray(y_pred), np.asarray(prot)
    def grp(mask):
        ww = wt[mask]
        sel = np.sum(ww * (yp[mask] == 1)) / np.sum(ww)
        tpr = np.sum(ww * ((yp[mask] == 1) & (yt[mask] == 1))) / np.sum(ww * (yt[mask] == 1))
        fpr = np.sum(ww * ((yp[mask] == 1) & (yt[mask] == 0))) / np.sum(ww * (yt[mask] == 0))
        return sel, tpr, fpr
    P = grp(pa == privileged)
    U = grp(pa != privileged)
    b = 1 + yp.astype(float) - yt.astype(float)
    mu = b.mean()
    theil = float(np.mean(np.log((b / mu) ** b) / mu))
    # Reweighing: W(g, y) = n_g n_y / (n n_{g,y}) with weighted counts.
    rw = []
    for i in range(n):
        g, y = pa[i] == privileged, yt[i]
        ng = np.sum(wt[(pa == privileged) == g]); ny = np.sum(wt[yt == y]); ngy = np.sum(wt[((pa == privileged) == g) & (yt == y)])
        rw.append(float(wt[i] * ng * ny / (np.sum(wt) * ngy)))
    return {
        'name': name,
        'input': {'y_true': y_true, 'y_pred': y_pred, 'protected': prot, 'privileged': privileged,
                  **({'sample_weight': [float(x) for x in w]} if w is not None else {})},
        'expected': {
            'disparate_impact': float(U[0] / P[0]),
            'statistical_parity_difference': float(U[0] - P[0]),
            'equal_opportunity_difference': float(U[1] - P[1]),
            'average_odds_difference': float(0.5 * ((U[2] - P[2]) + (U[1] - P[1]))),
            'theil_index': theil,
            'reweighing_binary_groups': rw,
        },
    }


rng = np.random.default_rng(11)
fair_cases = []
aif_cases = []
for k, (n, weighted) in enumerate([(40, False), (200, True), (500, False), (120, True)]):
    groups = [str(x) for x in rng.choice(['a', 'b', 'c'], size=n, p=[0.5, 0.3, 0.2])]
    y_true = [int(x) for x in rng.integers(0, 2, size=n)]
    bias = np.array([{'a': 0.15, 'b': 0.0, 'c': -0.1}[g] for g in groups])
    y_pred = [int(x) for x in (rng.random(n) < np.clip(0.35 + 0.3 * np.asarray(y_true) + bias, 0, 1))]
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    fair_cases.append(fairlearn_case(f'random-{k}', y_true, y_pred, groups, w))
    fair_cases.append(fairlearn_case(f'random-{k}-to-overall', y_true, y_pred, groups, w, method='to_overall'))
    prot = [1 if g == 'a' else 0 for g in groups]
    aif_cases.append(aif360_case(f'aif-{k}', y_true, y_pred, prot, 1, w))
# Numeric groups sort numerically; one group has no positives (TPR 0 by sklearn's convention).
fair_cases.append(fairlearn_case('numeric-groups-no-positives', [0, 0, 0, 1, 1, 0, 1, 0, 0, 1],
                                 [0, 1, 0, 1, 0, 0, 1, 1, 0, 1], [10, 10, 10, 2, 2, 2, 2, 33, 33, 33]))
# String labels with an explicit positive label.
fair_cases.append(fairlearn_case('string-labels', ['yes', 'no', 'yes', 'no', 'yes', 'yes', 'no', 'no'],
                                 ['yes', 'yes', 'no', 'no', 'yes', 'yes', 'yes', 'no'],
                                 ['x', 'x', 'x', 'x', 'y', 'y', 'y', 'y'], pos='yes'))
json.dump({'fairlearn': fair_cases, 'aif360': aif_cases}, open(os.path.join(OUT, 'fairness.json'), 'w'), indent=1)

# ---------------------------------------------------------------- RDP (Opacus' algorithm)

def log_add(a, b):
    lo, hi = min(a, b), max(a, b)
    if lo == -np.inf:
        return hi
    return math.log1p(math.exp(lo - hi)) + hi


def log_sub(a, b):
    if b == -np.inf:
        return a
    if a == b:
        return -np.inf
    try:
        return math.log(math.expm1(a - b)) + b
    except OverflowError:
        return a


def log_a_int(q, sigma, alpha):
    log_a = -np.inf
    for i in range(alpha + 1):
        c = math.log(special.binom(alpha, i)) + i * math.log(q) + (alpha - i) * math.log(1 - q)
        log_a = log_add(log_a, c + (i * i - i) / (2 * sigma ** 2))
    return log_a


def log_erfc(x):
    return math.log(2) + special.log_ndtr(-x * 2 ** 0.5)


def log_a_frac(q, sigma, alpha):
    log_a0, log_a1 = -np.inf, -np.inf
    i = 0
    z0 = sigma ** 2 * math.log(1 / q - 1) + 0.5
    while True:
        coef = special.binom(alpha, i)
        log_coef = math.log(abs(coef))
        j = alpha - i
        log_t0 = log_coef + i * math.log(q) + j * math.log(1 - q)
        log_t1 = log_coef + j * math.log(q) + i * math.log(1 - q)
        log_e0 = math.log(0.5) + log_erfc((i - z0) / (math.sqrt(2) * sigma))
        log_e1 = math.log(0.5) + log_erfc((z0 - j) / (math.sqrt(2) * sigma))
        log_s0 = log_t0 + (i * i - i) / (2 * sigma ** 2) + log_e0
        log_s1 = log_t1 + (j * j - j) / (2 * sigma ** 2) + log_e1
        if coef > 0:
            log_a0 = log_add(log_a0, log_s0); log_a1 = log_add(log_a1, log_s1)
        else:
            log_a0 = log_sub(log_a0, log_s0); log_a1 = log_sub(log_a1, log_s1)
        i += 1
        if max(log_s0, log_s1) < -30:
            break
    return log_add(log_a0, log_a1)


def rdp(q, sigma, alpha):
    if q == 0:
        return 0.0
    if q == 1.0:
        return alpha / (2 * sigma ** 2)
    la = log_a_int(q, sigma, int(alpha)) if float(alpha).is_integer() else log_a_frac(q, sigma, alpha)
    return la / (alpha - 1)


ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def eps_opacus(q, sigma, steps, delta, orders=ORDERS):
    r = np.array([rdp(q, sigma, a) for a in orders]) * steps
    o = np.asarray(orders, dtype=float)
    eps = r - (np.log(delta) + np.log(o)) / (o - 1) + np.log((o - 1) / o)
    k = int(np.nanargmin(eps))
    return float(eps[k]), float(o[k])


def log_a_quad(q, sigma, alpha):
    """A_alpha = E_{z ~ N(0, s^2)} [((1-q) + q exp((2z - 1)/(2 s^2)))^alpha], by quadrature."""
    mpmath.mp.dps = 40
    s = mpmath.mpf(sigma)
    f = lambda z: mpmath.npdf(z, 0, s) * ((1 - q) + q * mpmath.exp((2 * z - 1) / (2 * s * s))) ** alpha
    val = mpmath.quad(f, [-mpmath.inf, -10 * s, 0, 0.5, 10 * s + alpha, mpmath.inf])
    return float(mpmath.log(val))


grid = []
for q in [0.001, 0.01, 0.04, 0.1, 0.5]:
    for sigma in [0.6, 0.8, 1.0, 1.5, 3.0]:
        for steps in [1, 100, 2250, 10000]:
            for delta in [1e-5, 1e-6]:
                if q * steps > 5000:
                    continue
                e, a = eps_opacus(q, sigma, steps, delta)
                grid.append({'q': q, 'sigma': sigma, 'steps': steps, 'delta': delta, 'epsilon': e, 'best_alpha': a})
single = []
for q, sigma in [(0.01, 1.0), (0.04, 1.5), (0.1, 0.8), (0.3, 2.0)]:
    for alpha in [1.5, 2.0, 3.3, 8.0, 10.9, 32.0]:
        single.append({'q': q, 'sigma': sigma, 'alpha': alpha, 'rdp': rdp(q, sigma, alpha),
                       'rdp_quadrature': log_a_quad(q, sigma, alpha) / (alpha - 1)})
# The doctest of opacus/accountants/analysis/rdp.py (orders 2..32): published (0.336, 23).
doc_orders = list(range(2, 33))
r = np.zeros(len(doc_orders))
for q, sigma, steps in [(1e-5, 1.0, 10), (1e-4, 3.0, 4)]:
    r += np.array([rdp(q, sigma, a) for a in doc_orders]) * steps
o = np.asarray(doc_orders, dtype=float)
eps = r - (np.log(1e-5) + np.log(o)) / (o - 1) + np.log((o - 1) / o)
doctest = {'epsilon': float(np.min(eps)), 'best_alpha': float(o[np.argmin(eps)])}
lerfc = [{'x': x, 'log_erfc': float(log_erfc(x))} for x in [-30, -5, -2.5, -1, -0.1, 0, 0.3, 1, 2.9, 3.1, 5, 10, 30, 100]]
json.dump({'orders': ORDERS, 'grid': grid, 'single': single, 'doctest': doctest, 'log_erfc': lerfc},
          open(os.path.join(OUT, 'rdp.json'), 'w'), indent=1)

# ---------------------------------------------------------------- Gaussian DP (PRV ground truth at q = 1)

def gdp_delta(eps, mu):
    return stats.norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * stats.norm.cdf(-eps / mu - mu / 2)


def gdp_eps(sigma, steps, delta):
    mu = math.sqrt(steps) / sigma
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if gdp_delta(mid, mu) > delta:
            lo = mid
        else:
            hi = mid
    return hi


gdp = [{'sigma': s, 'steps': k, 'delta': d, 'epsilon': gdp_eps(s, k, d)} for s, k, d in [(1.0, 1, 1e-5), (2.0, 10, 1e-5), (5.0, 100, 1e-6), (10.0, 1000, 1e-5)]]
json.dump({'gaussian': gdp}, open(os.path.join(OUT, 'gdp.json'), 'w'), indent=1)

# ---------------------------------------------------------------- ROC (scikit-learn)

roc_cases = []
for k, (nm, nn, sep, ties) in enumerate([(50, 70, 0.8, False), (300, 2000, 0.3, False), (40, 40, 1.0, True)]):
    m = rng.normal(sep, 1, nm); n_ = rng.normal(0, 1, nn)
    if ties:
        m = np.round(m); n_ = np.round(n_)
    y = np.r_[np.ones(nm), np.zeros(nn)]; s = np.r_[m, n_]
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    def at(f):
        return float(tpr[np.where(fpr <= f)[0][-1]])
    roc_cases.append({'members': m.tolist(), 'non_members': n_.tolist(), 'auc': float(roc_auc_score(y, s)),
                      'fpr': fpr.tolist(), 'tpr': tpr.tolist(), 'tpr_at_0_1pct': at(0.001), 'tpr_at_1pct': at(0.01)})
json.dump({'cases': roc_cases}, open(os.path.join(OUT, 'roc.json'), 'w'), indent=1)
print('wrote', OUT)
