#!/usr/bin/python3
"""Reference arrays for @nutshell/diffusion, restating Hugging Face diffusers' published formulas
(DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler,
EulerAncestralDiscreteScheduler, HeunDiscreteScheduler) in plain numpy, float64.
diffusers itself is not installable here; the formulas follow its source (v0.27-era).
Run: /usr/bin/python3 packages/diffusion/scripts/make-fixtures.py  → test/fixtures/diffusers.json
"""
import json, math, os
import numpy as np

T = 1000

def betas_for_alpha_bar(n, max_beta=0.999):
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return np.array([min(1 - f((i + 1) / n) / f(i / n), max_beta) for i in range(n)])

def make_betas(kind, start=1e-4, end=0.02, n=T):
    if kind == 'linear':
        return np.linspace(start, end, n)
    if kind == 'scaled_linear':
        return np.linspace(start ** 0.5, end ** 0.5, n) ** 2
    if kind == 'squaredcos_cap_v2':
        return betas_for_alpha_bar(n)
    if kind == 'sigmoid':
        b = np.linspace(-6, 6, n)
        return 1 / (1 + np.exp(-b)) * (end - start) + start
    raise ValueError(kind)

def rescale_zero_terminal_snr(betas):
    alphas = 1.0 - betas
    ac = np.cumprod(alphas)
    s = np.sqrt(ac)
    s0, sT = s[0], s[-1]
    s = (s - sT) * s0 / (s0 - sT)
    ab = s ** 2
    alphas = np.concatenate([ab[:1], ab[1:] / ab[:-1]])
    return 1 - alphas

def spaced(spacing, n, offset=0, kind='int'):
    if spacing == 'linspace':
        t = np.linspace(0, T - 1, n)[::-1]
        return t.round() if kind == 'int' else t
    if spacing == 'leading':
        r = T // n
        return (np.arange(0, n) * r).round()[::-1] + offset
    if spacing == 'trailing':
        r = T / n
        return np.round(np.arange(T, 0, -r)) - 1
    raise ValueError(spacing)

def dpm_timesteps(spacing, n, offset=0):
    if spacing == 'linspace':
        return np.linspace(0, T - 1, n + 1).round()[::-1][:-1]
    if spacing == 'leading':
        r = T // (n + 1)
        return (np.arange(0, n + 1) * r).round()[::-1][:-1] + offset
    return np.arange(T, 0, -T / n).round() - 1

def karras(in_sigmas, n, rho=7.0):
    smin, smax = in_sigmas[-1], in_sigmas[0]
    ramp = np.linspace(0, 1, n)
    return (smax ** (1 / rho) + ramp * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho

def sigma_to_t(sigma, log_sigmas):
    ls = np.log(np.maximum(sigma, 1e-10))
    dists = ls - log_sigmas[:, None]
    low = np.cumsum((dists >= 0), axis=0).argmax(axis=0).clip(max=log_sigmas.shape[0] - 2)
    high = low + 1
    lo, hi = log_sigmas[low], log_sigmas[high]
    w = np.clip((lo - ls) / (lo - hi), 0, 1)
    return ((1 - w) * low + w * high).reshape(np.shape(sigma))

def x0_from(pred, mo, sample, a, b):  # VP: a = sqrt(ᾱ), b = sqrt(1-ᾱ)
    if pred == 'epsilon':
        return (sample - b * mo) / a
    if pred == 'sample':
        return mo
    return a * sample - b * mo

def threshold_sample(x0, ratio=0.995, max_value=1.0):
    """diffusers' _threshold_sample (Imagen dynamic thresholding): per-sample quantile of |x0|."""
    b = x0.shape[0]
    flat = x0.reshape(b, -1)
    s = np.quantile(np.abs(flat), ratio, axis=1)  # linear interpolation, as torch.quantile
    s = np.clip(s, 1, max_value)[:, None]
    return (np.clip(flat, -s, s) / s).reshape(x0.shape)

def post_x0(th):
    return (lambda x0: x0) if th is None else (lambda x0: threshold_sample(x0, th['ratio'], th['maxValue']))

def fake_var(sample, t):
    """Stand-in for a learned-variance model's extra channels v (Σ interpolation, (v + 1)/2 ∈ [0, 1] mostly)."""
    return 0.8 * np.tanh(sample) - 0.3 * np.cos(np.asarray(t, dtype=np.float64) / 200.0)

def fake_model(sample, t):
    return 0.5 * sample + 0.1 * np.cos(np.asarray(t, dtype=np.float64) / 100.0) + 0.05 * np.sin(3 * sample)

# ---------------- schedulers ----------------
def run_ddpm(ac, n, pred, spacing, offset, sample, noises, variance='fixed_small', th=None):
    ts = spaced(spacing, n, offset)
    x = sample.copy(); traj = []
    for i, t in enumerate(ts.astype(int)):
        mo = fake_model(x, t)
        prev = t - T // n
        a_t = ac[t]; a_p = ac[prev] if prev >= 0 else 1.0
        b_t = 1 - a_t; b_p = 1 - a_p
        cur_a = a_t / a_p; cur_b = 1 - cur_a
        x0 = post_x0(th)(x0_from(pred, mo, x, math.sqrt(a_t), math.sqrt(b_t)))
        mean = (math.sqrt(a_p) * cur_b / b_t) * x0 + (math.sqrt(cur_a) * b_p / b_t) * x
        if t > 0 and variance == 'learned_range':
            # diffusers' _get_variance(learned_range): min_log = log β̃ (clamped 1e-20), max_log = log β_t
            frac = (fake_var(x, t) + 1) / 2
            log_var = frac * math.log(cur_b) + (1 - frac) * math.log(max(b_p / b_t * cur_b, 1e-20))
            mean = mean + np.exp(0.5 * log_var) * noises[i]
        elif t > 0:
            var = max(b_p / b_t * cur_b, 1e-20) if variance == 'fixed_small' else cur_b
            mean = mean + math.sqrt(var) * noises[i]
        x = mean; traj.append(x.tolist())
    return ts, traj

def run_ddim(ac, n, pred, spacing, offset, sample, noises, eta, th=None):
    ts = spaced(spacing, n, offset)
    x = sample.copy(); traj = []
    for i, t in enumerate(ts.astype(int)):
        mo = fake_model(x, t)
        prev = t - T // n
        a_t = ac[t]; a_p = ac[prev] if prev >= 0 else 1.0
        b_t = 1 - a_t; b_p = 1 - a_p
        if pred == 'epsilon':
            x0 = (x - math.sqrt(b_t) * mo) / math.sqrt(a_t); eps = mo
        elif pred == 'sample':
            x0 = mo; eps = (x - math.sqrt(a_t) * x0) / math.sqrt(b_t)
        else:
            x0 = math.sqrt(a_t) * x - math.sqrt(b_t) * mo; eps = math.sqrt(a_t) * mo + math.sqrt(b_t) * x
        x0 = post_x0(th)(x0)  # as diffusers: thresholding changes x0 but not eps
        var = (b_p / b_t) * (1 - a_t / a_p)
        std = eta * math.sqrt(var)
        x = math.sqrt(a_p) * x0 + math.sqrt(1 - a_p - std ** 2) * eps
        if eta > 0:
            x = x + std * noises[i]
        traj.append(x.tolist())
    return ts, traj

def alpha_sigma(s):
    a = 1 / math.sqrt(s * s + 1)
    return a, s * a

def run_dpm(ac, n, pred, spacing, offset, sample, use_karras, th=None):
    ts = dpm_timesteps(spacing, n, offset)
    sig = np.sqrt((1 - ac) / ac)
    log_sigmas = np.log(sig)
    if use_karras:
        s = karras(np.flip(sig).copy(), n)
        ts = np.array([sigma_to_t(v, log_sigmas) for v in s]).round()
    else:
        s = np.interp(ts, np.arange(len(sig)), sig)
    sigmas = np.concatenate([s, [0.0]])
    x = sample.copy(); traj = []; outs = [None, None]; lower = 0
    for i, t in enumerate(ts):
        mo = fake_model(x, t)
        a_s, s_s = alpha_sigma(sigmas[i])
        if pred == 'epsilon': x0 = (x - s_s * mo) / a_s
        elif pred == 'sample': x0 = mo
        else: x0 = a_s * x - s_s * mo
        x0 = post_x0(th)(x0)
        outs = [outs[1], x0]
        last = i == len(ts) - 1
        second_last = i == len(ts) - 2 and len(ts) < 15
        a_t, s_t = alpha_sigma(sigmas[i + 1])
        lam_t = (math.log(a_t) - math.log(s_t)) if s_t > 0 else math.inf
        lam_s0 = math.log(a_s) - math.log(s_s)
        h = lam_t - lam_s0
        em1 = math.exp(-h) - 1
        if lower < 1 or last:
            x = (s_t / s_s) * x - a_t * em1 * x0
        else:
            a_s1, s_s1 = alpha_sigma(sigmas[i - 1])
            lam_s1 = math.log(a_s1) - math.log(s_s1)
            r0 = (lam_s0 - lam_s1) / h
            D0 = outs[1]; D1 = (1 / r0) * (outs[1] - outs[0])
            x = (s_t / s_s) * x - a_t * em1 * D0 - 0.5 * a_t * em1 * D1
        lower = min(lower + 1, 2)
        traj.append(x.tolist())
    return ts, sigmas, traj

def euler_sigmas(ac, n, spacing, offset, use_karras):
    ts = spaced(spacing, n, offset, kind='float').astype(np.float64)
    sig = np.sqrt((1 - ac) / ac)
    log_sigmas = np.log(sig)
    s = np.interp(ts, np.arange(len(sig)), sig)
    if use_karras:
        s = karras(s, n)
        ts = np.array([sigma_to_t(v, log_sigmas) for v in s])
    return ts, np.concatenate([s, [0.0]])

def init_sigma(sigmas, spacing):
    m = sigmas.max()
    return m if spacing in ('linspace', 'trailing') else math.sqrt(m * m + 1)

def euler_x0(pred, mo, x, sigma):
    if pred == 'epsilon': return x - sigma * mo
    if pred == 'sample': return mo
    return mo * (-sigma / math.sqrt(sigma ** 2 + 1)) + x / (sigma ** 2 + 1)

def run_euler(ac, n, pred, spacing, offset, sample, use_karras):
    ts, sigmas = euler_sigmas(ac, n, spacing, offset, use_karras)
    x = sample.copy() * init_sigma(sigmas, spacing); traj = []
    for i, t in enumerate(ts):
        s = sigmas[i]
        mo = fake_model(x / math.sqrt(s * s + 1), t)
        x0 = euler_x0(pred, mo, x, s)
        d = (x - x0) / s
        x = x + d * (sigmas[i + 1] - s)
        traj.append(x.tolist())
    return ts, sigmas, init_sigma(sigmas, spacing), traj

def run_euler_a(ac, n, pred, spacing, offset, sample, noises):
    ts, sigmas = euler_sigmas(ac, n, spacing, offset, False)
    x = sample.copy() * init_sigma(sigmas, spacing); traj = []
    for i, t in enumerate(ts):
        s = sigmas[i]
        mo = fake_model(x / math.sqrt(s * s + 1), t)
        x0 = euler_x0(pred, mo, x, s)
        s_to = sigmas[i + 1]
        up = math.sqrt(s_to ** 2 * (s ** 2 - s_to ** 2) / s ** 2)
        down = math.sqrt(s_to ** 2 - up ** 2)
        d = (x - x0) / s
        x = x + d * (down - s) + noises[i] * up
        traj.append(x.tolist())
    return ts, sigmas, traj

def run_heun(ac, n, pred, spacing, offset, sample, use_karras):
    ts, sigmas = euler_sigmas(ac, n, spacing, offset, use_karras)
    sig2 = np.concatenate([sigmas[:1], np.repeat(sigmas[1:-1], 2), sigmas[-1:]])
    ts2 = np.concatenate([ts[:1], np.repeat(ts[1:], 2)])
    x = sample.copy() * init_sigma(sig2, spacing); traj = []
    prev_d = dt = prev_x = None
    for i, t in enumerate(ts2):
        s_in = sig2[i]
        mo = fake_model(x / math.sqrt(s_in * s_in + 1), t)
        if dt is None:
            s, s_next = sig2[i], sig2[i + 1]
            x0 = euler_x0(pred, mo, x, s)
            d = (x - x0) / s
            dt = s_next - s; prev_d = d; prev_x = x
            x = x + d * dt
            if s_next == 0:
                dt = None  # diffusers: the final Euler step needs no correction
        else:
            s_next = sig2[i]
            x0 = euler_x0(pred, mo, x, s_next)
            d = (x - x0) / s_next
            d = (prev_d + d) / 2
            x = prev_x + d * dt
            prev_d = dt = prev_x = None
        traj.append(x.tolist())
    return ts2, sig2, init_sigma(sig2, spacing), traj

def main():
    rng = np.random.default_rng(0)
    out = {'T': T, 'schedules': {}, 'timesteps': {}, 'trajectories': []}
    for kind, (bs, be) in {'linear': (1e-4, 0.02), 'scaled_linear': (0.00085, 0.012), 'squaredcos_cap_v2': (0, 0), 'sigmoid': (1e-4, 0.02)}.items():
        b = make_betas(kind, bs, be)
        out['schedules'][kind] = {'betaStart': bs, 'betaEnd': be, 'betas': b.tolist(), 'alphasCumprod': np.cumprod(1 - b).tolist()}
        r = rescale_zero_terminal_snr(b)
        out['schedules'][kind + '+ztsnr'] = {'betaStart': bs, 'betaEnd': be, 'betas': r.tolist(), 'alphasCumprod': np.cumprod(1 - r).tolist()}
    for spacing in ['leading', 'trailing', 'linspace']:
        for n in [7, 10, 50]:
            for off in [0, 1]:
                out['timesteps'][f'ddim/{spacing}/{n}/{off}'] = spaced(spacing, n, off).tolist()
                out['timesteps'][f'dpm/{spacing}/{n}/{off}'] = dpm_timesteps(spacing, n, off).tolist()
                out['timesteps'][f'euler/{spacing}/{n}/{off}'] = spaced(spacing, n, off, kind='float').tolist()
    shape = (2, 3)
    sample = rng.standard_normal(shape)
    noises = rng.standard_normal((60,) + shape)
    out['sample'] = sample.tolist(); out['noises'] = noises.tolist()
    ac_lin = np.cumprod(1 - make_betas('linear'))
    ac_z = np.cumprod(1 - rescale_zero_terminal_snr(make_betas('scaled_linear', 0.00085, 0.012)))
    def add(name, sched, opts, result):
        out['trajectories'].append({'scheduler': name, 'schedule': sched, **opts, **result})
    for pred in ['epsilon', 'v_prediction', 'sample']:
        for spacing in ['leading', 'trailing', 'linspace']:
            n = 8
            base = {'predictionType': pred, 'spacing': spacing, 'steps': n, 'stepsOffset': 0}
            ts, tr = run_ddpm(ac_lin, n, pred, spacing, 0, sample, noises)
            add('ddpm', 'linear', base, {'timesteps': ts.tolist(), 'trajectory': tr})
            for eta in [0.0, 0.5]:
                ts, tr = run_ddim(ac_lin, n, pred, spacing, 0, sample, noises, eta)
                add('ddim', 'linear', {**base, 'eta': eta}, {'timesteps': ts.tolist(), 'trajectory': tr})
            for k in [False, True]:
                ts, sg, tr = run_dpm(ac_lin, n, pred, spacing, 0, sample, k)
                add('dpmpp-2m', 'linear', {**base, 'karras': k}, {'timesteps': ts.tolist(), 'sigmas': sg.tolist(), 'trajectory': tr})
                ts, sg, init, tr = run_euler(ac_lin, n, pred, spacing, 0, sample, k)
                add('euler', 'linear', {**base, 'karras': k}, {'timesteps': ts.tolist(), 'sigmas': sg.tolist(), 'initNoiseSigma': init, 'trajectory': tr})
                ts, sg, init, tr = run_heun(ac_lin, n, pred, spacing, 0, sample, k)
                add('heun', 'linear', {**base, 'karras': k}, {'timesteps': ts.tolist(), 'sigmas': sg.tolist(), 'initNoiseSigma': init, 'trajectory': tr})
            ts, sg, tr = run_euler_a(ac_lin, n, pred, spacing, 0, sample, noises)
            add('euler-ancestral', 'linear', base, {'timesteps': ts.tolist(), 'sigmas': sg.tolist(), 'trajectory': tr})
    # zero terminal SNR + trailing + v-prediction (Lin et al. 2023's recipe); Euler clamps ᾱ_T to 2^-24.
    base = {'predictionType': 'v_prediction', 'spacing': 'trailing', 'steps': 10, 'stepsOffset': 0}
    ts, tr = run_ddim(ac_z, 10, 'v_prediction', 'trailing', 0, sample, noises, 0.0)
    add('ddim', 'scaled_linear+ztsnr', {**base, 'eta': 0.0}, {'timesteps': ts.tolist(), 'trajectory': tr})
    ac_z2 = ac_z.copy(); ac_z2[-1] = 2.0 ** -24
    ts, sg, init, tr = run_euler(ac_z2, 10, 'v_prediction', 'trailing', 0, sample, False)
    add('euler', 'scaled_linear+ztsnr', {**base, 'karras': False}, {'timesteps': ts.tolist(), 'sigmas': sg.tolist(), 'initNoiseSigma': init, 'trajectory': tr})
    # leading spacing with steps_offset=1 (Stable Diffusion's DDIM config)
    ts, tr = run_ddim(ac_lin, 10, 'epsilon', 'leading', 1, sample, noises, 0.0)
    add('ddim', 'linear', {'predictionType': 'epsilon', 'spacing': 'leading', 'steps': 10, 'stepsOffset': 1, 'eta': 0.0}, {'timesteps': ts.tolist(), 'trajectory': tr})
    # learned variance (Nichol & Dhariwal; diffusers' learned_range): the model's output is [ε̂ | v]
    for pred in ['epsilon', 'v_prediction']:
        for spacing in ['leading', 'trailing']:
            ts, tr = run_ddpm(ac_lin, 8, pred, spacing, 0, sample, noises, variance='learned_range')
            add('ddpm', 'linear', {'predictionType': pred, 'spacing': spacing, 'steps': 8, 'stepsOffset': 0, 'varianceType': 'learned_range'}, {'timesteps': ts.tolist(), 'trajectory': tr})
    ts, tr = run_ddpm(ac_lin, 8, 'epsilon', 'trailing', 0, sample, noises, variance='fixed_large')
    add('ddpm', 'linear', {'predictionType': 'epsilon', 'spacing': 'trailing', 'steps': 8, 'stepsOffset': 0, 'varianceType': 'fixed_large'}, {'timesteps': ts.tolist(), 'trajectory': tr})
    # dynamic thresholding (Imagen): diffusers' default (ratio 0.995, max 1 = clip to ±1), IF's
    # (0.95, 1.5) and an effectively unbounded max (pure quantile); on a larger sample so the
    # quantile interpolates between many values.
    trng = np.random.default_rng(1)
    tsample = trng.standard_normal((3, 2, 4, 4)) * 2
    tnoises = trng.standard_normal((12, 3, 2, 4, 4))
    out['thresholdSample'] = tsample.tolist(); out['thresholdNoises'] = tnoises.tolist()
    out['threshold'] = []
    for th in [{'ratio': 0.995, 'maxValue': 1.0}, {'ratio': 0.95, 'maxValue': 1.5}, {'ratio': 0.6, 'maxValue': 1e6}]:
        x = trng.standard_normal((3, 2, 4, 4)) * np.array([0.5, 2, 8])[:, None, None, None]
        s = np.clip(np.quantile(np.abs(x.reshape(3, -1)), th['ratio'], axis=1), 1, th['maxValue'])
        out['threshold'].append({**th, 'x': x.tolist(), 'y': threshold_sample(x, th['ratio'], th['maxValue']).tolist(), 's': s.tolist()})
        for pred in ['epsilon', 'v_prediction']:
            base = {'predictionType': pred, 'spacing': 'trailing', 'steps': 6, 'stepsOffset': 0, 'thresholding': th}
            ts, tr = run_ddpm(ac_lin, 6, pred, 'trailing', 0, tsample, tnoises, th=th)
            add('ddpm', 'linear', base, {'timesteps': ts.tolist(), 'trajectory': tr, 'fixtureSample': 'threshold'})
            ts, tr = run_ddim(ac_lin, 6, pred, 'trailing', 0, tsample, tnoises, 0.0, th=th)
            add('ddim', 'linear', {**base, 'eta': 0.0}, {'timesteps': ts.tolist(), 'trajectory': tr, 'fixtureSample': 'threshold'})
            ts, sg, tr = run_dpm(ac_lin, 6, pred, 'trailing', 0, tsample, False, th=th)
            add('dpmpp-2m', 'linear', {**base, 'karras': False}, {'timesteps': ts.tolist(), 'sigmas': sg.tolist(), 'trajectory': tr, 'fixtureSample': 'threshold'})
    path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'diffusers.json')
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    print(f'wrote {path}: {len(out["trajectories"])} trajectories')

if __name__ == '__main__':
    main()
