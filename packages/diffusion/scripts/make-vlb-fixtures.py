#!/usr/bin/python3
"""Reference values for the variational bound of @nutshell/diffusion, restating openai/improved-diffusion
(Nichol & Dhariwal 2021: gaussian_diffusion.py's q_posterior / p_mean_variance / _vb_terms_bpd /
prior_bpd / calc_bpd_loop / training_losses with a learned-range variance, and losses.py's normal_kl
and discretized_gaussian_log_likelihood) in plain numpy, float64.
Run: /usr/bin/python3 packages/diffusion/scripts/make-vlb-fixtures.py  → test/fixtures/vlb.json
"""
import json, math, os
import numpy as np

def betas_for_alpha_bar(n, max_beta=0.999):
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return np.array([min(1 - f((i + 1) / n) / f(i / n), max_beta) for i in range(n)])

def normal_kl(m1, lv1, m2, lv2):
    return 0.5 * (-1.0 + lv2 - lv1 + np.exp(lv1 - lv2) + (m1 - m2) ** 2 * np.exp(-lv2))

def approx_cdf(x):
    return 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))

def exact_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2)))

def discretized_ll(x, means, log_scales, cdf=approx_cdf):
    c = x - means
    inv = np.exp(-log_scales)
    cdf_plus = cdf(inv * (c + 1.0 / 255.0))
    cdf_min = cdf(inv * (c - 1.0 / 255.0))
    log_cdf_plus = np.log(np.maximum(cdf_plus, 1e-12))
    log_one_minus = np.log(np.maximum(1.0 - cdf_min, 1e-12))
    delta = cdf_plus - cdf_min
    return np.where(x < -0.999, log_cdf_plus, np.where(x > 0.999, log_one_minus, np.log(np.maximum(delta, 1e-12))))

def mean_flat(x):
    return x.reshape(x.shape[0], -1).mean(axis=1)

class Diffusion:
    def __init__(self, betas):
        self.betas = betas; self.T = len(betas)
        alphas = 1 - betas
        self.ac = np.cumprod(alphas)
        self.ac_prev = np.append(1.0, self.ac[:-1])
        self.post_var = betas * (1 - self.ac_prev) / (1 - self.ac)
        self.post_logvar_clipped = np.log(np.append(self.post_var[1], self.post_var[1:]))
        self.coef1 = betas * np.sqrt(self.ac_prev) / (1 - self.ac)
        self.coef2 = (1 - self.ac_prev) * np.sqrt(alphas) / (1 - self.ac)

    def q_sample(self, x0, t, noise):
        return np.sqrt(self.ac[t]) * x0 + np.sqrt(1 - self.ac[t]) * noise

    def q_posterior(self, x0, xt, t):
        return self.coef1[t] * x0 + self.coef2[t] * xt, self.post_logvar_clipped[t]

    def p_mean_variance(self, out, xt, t, var_type, clip):
        if var_type == 'learned_range':
            eps, v = np.split(out, 2, axis=-1)
            frac = (v + 1) / 2
            logvar = frac * np.log(self.betas[t]) + (1 - frac) * self.post_logvar_clipped[t]
        else:
            eps = out
            large = np.log(np.append(self.post_var[1], self.betas[1:]))
            logvar = np.full_like(xt, self.post_logvar_clipped[t] if var_type == 'fixed_small' else large[t])
        x0 = np.sqrt(1 / self.ac[t]) * xt - np.sqrt(1 / self.ac[t] - 1) * eps
        if clip:
            x0 = np.clip(x0, -1, 1)
        mean, _ = self.q_posterior(x0, xt, t)
        return mean, logvar

    def vb_term(self, x0, xt, t, out, var_type, clip):
        tm, tlv = self.q_posterior(x0, xt, t)
        m, lv = self.p_mean_variance(out, xt, t, var_type, clip)
        if t == 0:
            return mean_flat(-discretized_ll(x0, m, 0.5 * lv)) / np.log(2.0)
        return mean_flat(normal_kl(tm, tlv, m, lv)) / np.log(2.0)

    def prior_bpd(self, x0):
        t = self.T - 1
        return mean_flat(normal_kl(np.sqrt(self.ac[t]) * x0, np.log(1 - self.ac[t]), 0.0, 0.0)) / np.log(2.0)

def fake_eps(x, t):
    return 0.5 * x + 0.1 * np.cos(t / 10.0) + 0.05 * np.sin(3 * x)

def fake_var(x, t):
    return 0.8 * np.tanh(x) - 0.3 * np.cos(t / 20.0)

def fake_learned(x, t):
    return np.concatenate([fake_eps(x, t), fake_var(x, t)], axis=-1)

def main():
    rng = np.random.default_rng(7)
    out = {}
    # normal_kl and the decoder likelihood, elementwise
    m1, m2 = rng.standard_normal(12), rng.standard_normal(12)
    lv1, lv2 = rng.uniform(-6, 1, 12), rng.uniform(-6, 1, 12)
    out['normalKl'] = {'mean1': m1.tolist(), 'logvar1': lv1.tolist(), 'mean2': m2.tolist(), 'logvar2': lv2.tolist(), 'kl': normal_kl(m1, lv1, m2, lv2).tolist()}
    x = rng.integers(0, 256, 40) / 127.5 - 1
    x[:3] = [-1, 1, 0 / 127.5 - 1 + 2 / 255]  # both ends and the first interior value
    means = x + rng.standard_normal(40) * 0.02
    log_scales = rng.uniform(np.log(0.002), np.log(0.2), 40)
    out['decoder'] = {'x': x.tolist(), 'means': means.tolist(), 'logScales': log_scales.tolist(),
                      'll': discretized_ll(x, means, log_scales).tolist(), 'llExactCdf': discretized_ll(x, means, log_scales, exact_cdf).tolist()}
    # the whole bound (calc_bpd_loop) of stand-in models on a 40-step cosine schedule
    T = 40
    d = Diffusion(betas_for_alpha_bar(T))
    x0 = rng.integers(0, 256, (3, 2, 2, 2)) / 127.5 - 1
    noises = rng.standard_normal((T, 3, 2, 2, 2))
    out['T'] = T; out['betas'] = d.betas.tolist(); out['x0'] = x0.tolist(); out['noises'] = noises.tolist()
    out['bpd'] = []
    for var_type, model in [('learned_range', fake_learned), ('fixed_small', fake_eps), ('fixed_large', fake_eps)]:
        for clip in [False, True]:
            terms = np.zeros((3, T))
            for t in range(T):
                xt = d.q_sample(x0, t, noises[t])
                terms[:, t] = d.vb_term(x0, xt, t, model(xt, t), var_type, clip)
            prior = d.prior_bpd(x0)
            out['bpd'].append({'varianceType': var_type, 'clipDenoised': clip, 'terms': terms.tolist(), 'prior': prior.tolist(),
                               'total': (terms.sum(axis=1) + prior).tolist()})
    # training_losses with RESCALED_MSE + learned_range (the hybrid loss, λ = 1/1000 ⇒ vb·T/1000)
    ts = np.array([0, 17, 39])
    noise = rng.standard_normal((3, 2, 2, 2))
    xt = np.stack([d.q_sample(x0[i], ts[i], noise[i]) for i in range(3)])
    vb = np.array([d.vb_term(x0[i:i + 1], xt[i:i + 1], ts[i], fake_learned(xt[i:i + 1], ts[i]), 'learned_range', False)[0] for i in range(3)])
    mse = np.array([((fake_eps(xt[i], ts[i]) - noise[i]) ** 2).mean() for i in range(3)])
    out['hybrid'] = {'timesteps': ts.tolist(), 'noise': noise.tolist(), 'vb': vb.tolist(), 'mse': mse.tolist(),
                     'loss': float((mse + vb * T / 1000.0).mean())}
    path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'vlb.json')
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    print(f'wrote {path}')

if __name__ == '__main__':
    main()
