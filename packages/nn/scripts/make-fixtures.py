#!/usr/bin/env python3
"""Writes PyTorch reference outputs for @nutshell/nn's tests into test/fixtures/*.json.

Run with Debian's interpreter (PyTorch 1.13 from `apt-get install python3-torch`):
    /usr/bin/python3 packages/nn/scripts/make-fixtures.py
Tensors are stored as {"shape": [...], "data": [flat row-major floats]} in PyTorch's layouts
(NCHW, [out, in, kh, kw], ...); the tests convert layouts themselves. Tests never need Python.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
os.makedirs(OUT, exist_ok=True)


def T(t):
    t = t.detach().to(torch.float64) if t.dtype.is_floating_point else t.detach()
    return {'shape': list(t.shape), 'data': [float(f'{v:.9g}') if t.dtype.is_floating_point else int(v) for v in t.reshape(-1).tolist()]}


def grads_of(out, inputs):
    """Backprop a fixed random upstream gradient; returns (upstream, grads)."""
    up = torch.randn_like(out)
    gs = torch.autograd.grad((out * up).sum(), inputs)
    return up, gs


def dump(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
    print('wrote', name)


# ---------------------------------------------------------------- layers
layers = {}

lin = nn.Linear(4, 5)
x = torch.randn(3, 4, requires_grad=True)
y = lin(x)
up, (gx, gw, gb) = grads_of(y, [x, lin.weight, lin.bias])
layers['linear'] = dict(x=T(x), weight=T(lin.weight), bias=T(lin.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb))

conv_cases = []
for cfg in [
    dict(cin=3, cout=4, k=3, stride=1, padding=1, dilation=1, groups=1, h=6, w=5),
    dict(cin=2, cout=4, k=3, stride=2, padding=0, dilation=1, groups=1, h=7, w=7),
    dict(cin=2, cout=3, k=(2, 3), stride=(1, 2), padding=(1, 0), dilation=1, groups=1, h=5, w=6),
    dict(cin=2, cout=2, k=3, stride=1, padding=2, dilation=2, groups=1, h=6, w=6),
    dict(cin=4, cout=6, k=3, stride=1, padding=1, dilation=1, groups=2, h=5, w=5),
    dict(cin=3, cout=6, k=3, stride=2, padding=1, dilation=1, groups=3, h=6, w=6),
    dict(cin=2, cout=3, k=3, stride=2, padding=1, dilation=2, groups=1, h=8, w=8),
]:
    c = nn.Conv2d(cfg['cin'], cfg['cout'], cfg['k'], stride=cfg['stride'], padding=cfg['padding'], dilation=cfg['dilation'], groups=cfg['groups'])
    x = torch.randn(2, cfg['cin'], cfg['h'], cfg['w'], requires_grad=True)
    y = c(x)
    up, (gx, gw, gb) = grads_of(y, [x, c.weight, c.bias])
    conv_cases.append(dict(cfg=cfg, x=T(x), weight=T(c.weight), bias=T(c.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb)))
layers['conv2d'] = conv_cases

c1 = nn.Conv1d(3, 4, 3, stride=2, padding=1)
x = torch.randn(2, 3, 9, requires_grad=True)
y = c1(x)
up, (gx, gw, gb) = grads_of(y, [x, c1.weight, c1.bias])
layers['conv1d'] = dict(x=T(x), weight=T(c1.weight), bias=T(c1.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb))

ct_cases = []
for cfg in [dict(cin=3, cout=2, k=3, stride=2, padding=1, output_padding=1, h=4, w=3), dict(cin=2, cout=3, k=4, stride=2, padding=0, output_padding=0, h=3, w=3),
            dict(cin=2, cout=2, k=3, stride=1, padding=1, output_padding=0, h=4, w=4)]:
    ct = nn.ConvTranspose2d(cfg['cin'], cfg['cout'], cfg['k'], stride=cfg['stride'], padding=cfg['padding'], output_padding=cfg['output_padding'])
    x = torch.randn(2, cfg['cin'], cfg['h'], cfg['w'], requires_grad=True)
    y = ct(x)
    up, (gx, gw, gb) = grads_of(y, [x, ct.weight, ct.bias])
    ct_cases.append(dict(cfg=cfg, x=T(x), weight=T(ct.weight), bias=T(ct.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb)))
layers['convTranspose2d'] = ct_cases

x = torch.randn(2, 3, 7, 6, requires_grad=True)
pools = {}
for name, fn in [
    ('max_k3_s2_p1', lambda t: F.max_pool2d(t, 3, 2, 1)),
    ('max_k2', lambda t: F.max_pool2d(t, 2)),
    ('avg_k3_s2_p1', lambda t: F.avg_pool2d(t, 3, 2, 1)),
    ('avg_k3_s2_p1_exclude', lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False)),
    ('adaptive_3x2', lambda t: F.adaptive_avg_pool2d(t, (3, 2))),
    ('adaptive_1x1', lambda t: F.adaptive_avg_pool2d(t, 1)),
    ('nearest_x2', lambda t: F.interpolate(t, scale_factor=2, mode='nearest')),
    ('nearest_size_10x9', lambda t: F.interpolate(t, size=(10, 9), mode='nearest')),
    ('bilinear_size_10x9', lambda t: F.interpolate(t, size=(10, 9), mode='bilinear', align_corners=False)),
    ('bilinear_x2_align', lambda t: F.interpolate(t, scale_factor=2, mode='bilinear', align_corners=True)),
]:
    y = fn(x)
    up, (gx,) = grads_of(y, [x])
    pools[name] = dict(y=T(y), up=T(up), gx=T(gx))
layers['pool'] = dict(x=T(x), cases=pools)

ln = nn.LayerNorm([4])
with torch.no_grad():
    ln.weight.copy_(torch.randn(4)); ln.bias.copy_(torch.randn(4))
x = torch.randn(3, 2, 4, requires_grad=True) * 3 + 1
x.retain_grad()
y = ln(x)
up, (gx, gw, gb) = grads_of(y, [x, ln.weight, ln.bias])
layers['layerNorm'] = dict(x=T(x), weight=T(ln.weight), bias=T(ln.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb))

gn = nn.GroupNorm(2, 4)
with torch.no_grad():
    gn.weight.copy_(torch.randn(4)); gn.bias.copy_(torch.randn(4))
x = torch.randn(2, 4, 3, 3, requires_grad=True)
y = gn(x)
up, (gx, gw, gb) = grads_of(y, [x, gn.weight, gn.bias])
layers['groupNorm'] = dict(x=T(x), weight=T(gn.weight), bias=T(gn.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb))

inn = nn.InstanceNorm2d(3, affine=True)
with torch.no_grad():
    inn.weight.copy_(torch.randn(3)); inn.bias.copy_(torch.randn(3))
x = torch.randn(2, 3, 4, 3, requires_grad=True)
y = inn(x)
up, (gx,) = grads_of(y, [x])
layers['instanceNorm'] = dict(x=T(x), weight=T(inn.weight), bias=T(inn.bias), y=T(y), up=T(up), gx=T(gx))

bn = nn.BatchNorm2d(3, momentum=0.2)
with torch.no_grad():
    bn.weight.copy_(torch.randn(3)); bn.bias.copy_(torch.randn(3))
x1 = torch.randn(4, 3, 2, 3, requires_grad=True)
y1 = bn(x1)
up, (gx, gw, gb) = grads_of(y1, [x1, bn.weight, bn.bias])
x2 = torch.randn(4, 3, 2, 3)
y2 = bn(x2)
rm, rv = bn.running_mean.clone(), bn.running_var.clone()
bn.eval()
x3 = torch.randn(2, 3, 2, 3)
y3 = bn(x3)
layers['batchNorm2d'] = dict(weight=T(bn.weight), bias=T(bn.bias), x1=T(x1), y1=T(y1), up=T(up), gx=T(gx), gw=T(gw), gb=T(gb), x2=T(x2), y2=T(y2),
                            running_mean=T(rm), running_var=T(rv), x3=T(x3), y3=T(y3))
bn1 = nn.BatchNorm1d(4)
x = torch.randn(5, 4)
y = bn1(x)
layers['batchNorm1d'] = dict(x=T(x), y=T(y), running_mean=T(bn1.running_mean), running_var=T(bn1.running_var))

emb = nn.Embedding(6, 3, padding_idx=1)
idx = torch.tensor([[0, 1, 5], [1, 2, 0]])
y = emb(idx)
up, (gw,) = grads_of(y, [emb.weight])
layers['embedding'] = dict(weight=T(emb.weight), idx=T(idx), y=T(y), up=T(up), gw=T(gw))

xa = torch.tensor([-100., -20., -3., -1., -0.5, 0., 0.3, 1., 2.5, 19., 21., 100.], requires_grad=True)
acts = {}
for name, fn in [('relu', F.relu), ('sigmoid', torch.sigmoid), ('tanh', torch.tanh), ('leaky_relu_0.1', lambda t: F.leaky_relu(t, 0.1)),
                 ('elu', F.elu), ('elu_0.5', lambda t: F.elu(t, 0.5)), ('selu', F.selu), ('gelu', F.gelu), ('gelu_tanh', lambda t: F.gelu(t, approximate='tanh')),
                 ('silu', F.silu), ('softplus', F.softplus), ('softplus_b2', lambda t: F.softplus(t, beta=2, threshold=5))]:
    y = fn(xa)
    (g,) = torch.autograd.grad(y.sum(), [xa])
    acts[name] = dict(y=T(y), g=T(g))
logits = torch.tensor([[1000., 0., -1000.], [1., 2., 3.], [-50., -50.5, -49.]])
acts['log_softmax'] = dict(x=T(logits), y=T(F.log_softmax(logits, -1)))
acts['softmax'] = dict(x=T(logits), y=T(F.softmax(logits, -1)))
layers['activations'] = dict(x=T(xa), cases=acts)
dump('layers.json', layers)

# ---------------------------------------------------------------- recurrent + attention
rec = {}
for kind, cls in [('lstm', nn.LSTM), ('gru', nn.GRU), ('rnn', nn.RNN)]:
    for layers_n, bidir in [(1, False), (2, True)]:
        m = cls(3, 4, num_layers=layers_n, bidirectional=bidir, batch_first=True)
        x = torch.randn(2, 5, 3)
        out = m(x)
        y, h = out
        entry = dict(num_layers=layers_n, bidirectional=bidir, x=T(x), y=T(y),
                     weights={k: T(v) for k, v in m.state_dict().items()})
        if kind == 'lstm':
            entry['h'] = T(h[0]); entry['c'] = T(h[1])
        else:
            entry['h'] = T(h)
        # variable lengths via packing
        lengths = torch.tensor([5, 3])
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        py, ph = m(packed)
        py, _ = nn.utils.rnn.pad_packed_sequence(py, batch_first=True, total_length=5)
        entry['lengths'] = [5, 3]
        entry['y_packed'] = T(py)
        entry['h_packed'] = T(ph[0] if kind == 'lstm' else ph)
        rec[f'{kind}_{layers_n}_{"bi" if bidir else "uni"}'] = entry

mha = nn.MultiheadAttention(8, 2, batch_first=True)
q = torch.randn(2, 3, 8)
kv = torch.randn(2, 4, 8)
out, w = mha(q, kv, kv)
causal = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
xs = torch.randn(2, 3, 8)
out_c, w_c = mha(xs, xs, xs, attn_mask=causal)
kpm = torch.tensor([[False, False, False, True], [False, True, False, False]])
out_p, w_p = mha(q, kv, kv, key_padding_mask=kpm)
rec['mha'] = dict(weights={k: T(v) for k, v in mha.state_dict().items()}, q=T(q), kv=T(kv), out=T(out), w=T(w),
                  xs=T(xs), out_causal=T(out_c), w_causal=T(w_c), key_padding_mask=kpm.int().reshape(-1).tolist(), out_pad=T(out_p), w_pad=T(w_p))
dump('recurrent.json', rec)

# ---------------------------------------------------------------- losses
L = {}
inp = torch.randn(4, 3)
tgt = torch.randn(4, 3)
L['mse'] = F.mse_loss(inp, tgt).item()
L['mse_sum'] = F.mse_loss(inp, tgt, reduction='sum').item()
L['l1'] = F.l1_loss(inp, tgt).item()
L['huber_0.5'] = F.huber_loss(inp, tgt, delta=0.5).item()
L['smooth_l1_0.5'] = F.smooth_l1_loss(inp, tgt, beta=0.5).item()
L['regression'] = dict(input=T(inp), target=T(tgt))
p = torch.rand(4, 3) * 0.98 + 0.01
yb = (torch.rand(4, 3) > 0.5).float()
L['bce'] = F.binary_cross_entropy(p, yb).item()
L['binary'] = dict(p=T(p), y=T(yb))
lg = torch.tensor([[-100., 100., 0.5], [3., -2., 100.], [-100., 0., 1.]])
yl = torch.tensor([[1., 0., 1.], [0., 1., 0.], [0., 1., 1.]])
lg.requires_grad_(True)
l = F.binary_cross_entropy_with_logits(lg, yl)
(g,) = torch.autograd.grad(l, [lg])
L['bce_logits'] = dict(logits=T(lg), y=T(yl), loss=l.item(), grad=T(g),
                       pos_weight_loss=F.binary_cross_entropy_with_logits(lg, yl, pos_weight=torch.tensor([2., 0.5, 1.])).item())
logits = torch.randn(5, 4, requires_grad=True)
target = torch.tensor([0, 3, -100, 2, 1])
weight = torch.tensor([1., 2., 0.5, 1.5])
ce = {}
for name, kw in [('plain', {}), ('smooth', dict(label_smoothing=0.1)), ('weight', dict(weight=weight)),
                 ('weight_smooth', dict(weight=weight, label_smoothing=0.2)), ('sum', dict(reduction='sum', label_smoothing=0.1)),
                 ('none', dict(reduction='none', label_smoothing=0.1))]:
    v = F.cross_entropy(logits, target, ignore_index=-100, **kw)
    if v.dim() == 0:
        (g,) = torch.autograd.grad(v, [logits])
        ce[name] = dict(loss=v.item(), grad=T(g))
    else:
        ce[name] = dict(loss=T(v))
big = torch.tensor([[1000., -1000., 0.], [0., 0., 1e4]])
ce['big'] = dict(logits=T(big), loss=F.cross_entropy(big, torch.tensor([1, 2])).item())
probs_t = torch.softmax(torch.randn(5, 4), -1)
ce['soft'] = dict(target=T(probs_t), loss=F.cross_entropy(logits, probs_t).item(), smooth=F.cross_entropy(logits, probs_t, label_smoothing=0.1).item())
seg_logits = torch.randn(2, 3, 2, 2)
seg_t = torch.tensor([[[0, 2], [1, -100]], [[2, 2], [0, 1]]])
ce['seg'] = dict(logits=T(seg_logits), target=T(seg_t), loss=F.cross_entropy(seg_logits, seg_t).item())
L['ce'] = dict(logits=T(logits), target=T(target), weight=T(weight), cases=ce)
lp = F.log_softmax(torch.randn(5, 4), -1)
L['nll'] = dict(logp=T(lp), loss=F.nll_loss(lp, target, weight=weight).item())
q = F.log_softmax(torch.randn(3, 4), -1)
pt = torch.softmax(torch.randn(3, 4), -1)
L['kl'] = dict(input=T(q), target=T(pt), batchmean=F.kl_div(q, pt, reduction='batchmean').item(), sum=F.kl_div(q, pt, reduction='sum').item(),
               log_target=F.kl_div(q, pt.log(), reduction='batchmean', log_target=True).item())
x1, x2 = torch.randn(4, 5), torch.randn(4, 5)
ys = torch.tensor([1., -1., 1., -1.])
L['cosine_embedding'] = dict(x1=T(x1), x2=T(x2), y=T(ys), loss=F.cosine_embedding_loss(x1, x2, ys, margin=0.2).item())
a, b = torch.randn(4), torch.randn(4)
L['margin_ranking'] = dict(a=T(a), b=T(b), y=T(ys), loss=F.margin_ranking_loss(a, b, ys, margin=0.5).item())
dump('losses.json', L)

# ---------------------------------------------------------------- optimizers
O = {}
p0 = torch.randn(3, 2)
grads = [torch.randn(3, 2) for _ in range(5)]


def run(make):
    p = p0.clone().requires_grad_(True)
    opt = make([p])
    traj = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        traj.append(T(p))
    return traj


for name, make in [
    ('sgd', lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ('sgd_momentum_wd', lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ('sgd_nesterov', lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)),
    ('adam', lambda ps: torch.optim.Adam(ps, lr=0.01)),
    ('adam_wd_amsgrad', lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ('adamw', lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    ('rmsprop', lambda ps: torch.optim.RMSprop(ps, lr=0.01)),
    ('rmsprop_centered_momentum', lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ('adagrad', lambda ps: torch.optim.Adagrad(ps, lr=0.1)),
    ('adagrad_decay', lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.5)),
]:
    O[name] = run(make)
gcat = [T(g) for g in grads]
clip_g = [torch.randn(3, 2) * 5, torch.randn(4) * 5]
clip_c = [g.clone().requires_grad_(False) for g in clip_g]
ps = [torch.zeros_like(g, requires_grad=True) for g in clip_g]
for pp, g in zip(ps, clip_g):
    pp.grad = g.clone()
total = torch.nn.utils.clip_grad_norm_(ps, 1.5)
O['clip'] = dict(grads=[T(g) for g in clip_c], total=total.item(), clipped=[T(pp.grad) for pp in ps])
dump('optim.json', dict(p0=T(p0), grads=gcat, cases=O))

# ---------------------------------------------------------------- schedules
S = {}


def lrs(make, n):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sch = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        sch.step()
    return out


S['step'] = lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 10)
S['multistep'] = lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.1), 8)
S['exponential'] = lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 8)
S['cosine'] = lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.05), 11)
S['onecycle'] = lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=20), 20)
S['onecycle_linear_3phase'] = lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=20, anneal_strategy='linear', three_phase=True), 20)
S['sequential'] = lrs(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
                                                                     torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)], milestones=[3]), 8)
dump('schedules.json', S)

# ---------------------------------------------------------------- extras (pool 1-d / ceil mode,
# ConvTranspose2d groups+dilation, InstanceNorm running stats, spectral_norm buffers)
torch.manual_seed(1234)
E = {}
x = torch.randn(2, 3, 9)
E['pool1d'] = dict(x=T(x),
                   max=T(F.max_pool1d(x, 3, 2, 1)), max_ceil=T(F.max_pool1d(x, 2, 2, 0, ceil_mode=True)),
                   avg=T(F.avg_pool1d(x, 3, 2, 1)), avg_ceil_noinc=T(F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)))
x = torch.randn(1, 2, 7, 8, requires_grad=True)
E['pool2d_ceil'] = dict(x=T(x),
                        max=T(F.max_pool2d(x, 3, 2, 0, ceil_mode=True)),
                        max_pad=T(F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
                        avg=T(F.avg_pool2d(x, 3, 2, 0, ceil_mode=True)),
                        avg_pad=T(F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
                        avg_pad_noinc=T(F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)))
ct = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2)
x = torch.randn(2, 4, 5, 4, requires_grad=True)
y = ct(x)
up, (gx, gw) = grads_of(y, [x, ct.weight])
E['convT_groups_dilation'] = dict(x=T(x), weight=T(ct.weight), bias=T(ct.bias), y=T(y), up=T(up), gx=T(gx), gw=T(gw))
inorm = nn.InstanceNorm2d(3, track_running_stats=True, momentum=0.2)
x1 = torch.randn(2, 3, 4, 5)
x2 = torch.randn(2, 3, 4, 5) * 2 + 1
inorm.train()
y1 = inorm(x1)
y2 = inorm(x2)
rm, rv = inorm.running_mean.clone(), inorm.running_var.clone()
inorm.eval()
y3 = inorm(x1)
E['instancenorm_running'] = dict(x1=T(x1), x2=T(x2), y1=T(y1), running_mean=T(rm), running_var=T(rv), eval_y=T(y3),
                                  num_batches_tracked=int(inorm.num_batches_tracked))
lin = nn.Linear(5, 3)
w0, b0 = lin.weight.detach().clone(), lin.bias.detach().clone()
lin = torch.nn.utils.spectral_norm(lin)
sd = lin.state_dict()
u0, v0 = sd['weight_u'].clone(), sd['weight_v'].clone()
x = torch.randn(4, 5)
lin.train()
y_train = lin(x)
u1, v1 = lin.weight_u.clone(), lin.weight_v.clone()
lin.eval()
y_eval = lin(x)
E['spectral_norm'] = dict(keys=sorted(sd.keys()), weight_orig=T(w0), bias=T(b0), u0=T(u0), v0=T(v0), x=T(x),
                          y_train=T(y_train), u1=T(u1), v1=T(v1), y_eval=T(y_eval))
dump('extras.json', E)
