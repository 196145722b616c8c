#!/usr/bin/env python3
"""PyTorch CPU side of tools/bench-compare (run.mjs): the same models as the nutshell side.

  /usr/bin/python3 torch_bench.py task=gpt-train|gpt-generate|mnist-train|ddpm-train [threads=2] [steps=...] [data=FILE] ...

Prints one JSON line. Models:
  gpt-*       nanoGPT shakespeare_char at its CPU size: 4 layers, 4 heads, 128 dims, no bias, GELU(tanh),
              tied embeddings; training: context 64, batch 12, AdamW(lr 1e-3, betas (0.9, 0.99), wd 0.1),
              grad clip 1; data = int32 token file written by run.mjs (same tokens as nutshell).
  gpt-generate batch 1, KV cache, context 512, greedy, `new` tokens after a 6-token prompt.
  mnist-train nn's SmallCNN: conv3x3(1->16,pad 1)-relu-maxpool2-conv3x3(16->32)-relu-maxpool2-linear(1568->64)-relu-linear(64->10),
              batch 64, AdamW(lr 1e-3), cross entropy; data = float32 images + uint8 labels files from run.mjs.
  ddpm-train  @nutshell/diffusion's UNet as packages/diffusion/bench/mnist-ddpm.mjs builds it (base 32, mults
              1,2,2, one ResBlock per level, 1-head self-attention at 7x7 and in the middle, strided-conv
              down, nearest-upsample + conv up, GroupNorm(8), SiLU, sinusoidal time MLP + class embedding
              with a null class); one step = epsilon-MSE at uniform t on the cosine schedule (T = 1000),
              10% label dropout, AdamW(lr 2e-3, wd 0), grad clip 1; batch `batch` (default 32).
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

args = dict(a.split('=', 1) for a in sys.argv[1:])
task = args.get('task', 'gpt-train')
threads = int(args.get('threads', 2))
torch.set_num_threads(threads)
torch.manual_seed(int(args.get('seed', 1337)))
L, H, C = 4, 4, 128


class Block(nn.Module):
    def __init__(self, T):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)  # torch 1.13 has no bias=False; the extra bias costs nothing measurable
        self.c_attn = nn.Linear(C, 3 * C, bias=False)
        self.c_proj = nn.Linear(C, C, bias=False)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C, bias=False)
        self.mlp_proj = nn.Linear(4 * C, C, bias=False)
        self.register_buffer('mask', torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x, past=None):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        s = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        if t > 1:
            att = att.masked_fill(self.mask[:, :, s - t:s, :s] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh')), (k, v)


class GPT(nn.Module):
    def __init__(self, V, T):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block(T) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, cache=None, start=0):
        x = self.wte(idx) + self.wpe(torch.arange(start, start + idx.shape[1]))
        new_cache = []
        for i, blk in enumerate(self.h):
            x, kv = blk(x, cache[i] if cache else None)
            new_cache.append(kv)
        return self.ln_f(x) @ self.wte.weight.t(), new_cache


def gpt_train():
    T, B = 64, 12
    steps = int(args.get('steps', 8))
    data = torch.from_numpy(np.fromfile(args['data'], dtype=np.int32).astype(np.int64))
    V = int(args['vocab'])
    model = GPT(V, T)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    times = []
    for _ in range(steps + 1):
        ix = torch.randint(len(data) - T - 1, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        t0 = time.perf_counter()
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    times = times[1:]  # warm-up step left out, as on the nutshell side
    return {'tokens_per_second': B * T * len(times) / sum(times), 'ms_per_step': 1000 * sum(times) / len(times)}


@torch.no_grad()
def gpt_generate():
    V, T, new = int(args.get('vocab', 65)), 512, int(args.get('new', 256))
    model = GPT(V, T).eval()

    def run(n):
        ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
        logits, cache = model(ids)
        pos = ids.shape[1]
        for _ in range(n):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            logits, cache = model(nxt, cache, pos)
            pos += 1

    run(8)  # warm-up
    t0 = time.perf_counter()
    run(new)
    dt = time.perf_counter() - t0
    return {'tokens_per_second': new / dt}


def mnist_train():
    steps, B = int(args.get('steps', 10)), 64
    x = torch.from_numpy(np.fromfile(args['images'], dtype=np.float32)).view(-1, 1, 28, 28)
    y = torch.from_numpy(np.fromfile(args['labels'], dtype=np.uint8).astype(np.int64))
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 32, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for s in range(steps + 1):
        ix = torch.randint(len(y), (B,))
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x[ix]), y[ix])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    times = times[1:]
    return {'images_per_second': B * len(times) / sum(times), 'ms_per_step': 1000 * sum(times) / len(times)}


# ---- DDPM U-Net (the same module tree as packages/diffusion/src/models/unet.ts, NCHW) ----
def groups_for(c, g=8):
    k = min(g, c)
    while c % k:
        k -= 1
    return k


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups_for(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups_for(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(groups_for(c), c)
        self.attn = nn.MultiheadAttention(c, 1, batch_first=True)

    def forward(self, x):
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # [B, HW, C]
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, base=32, mults=(1, 2, 2), num_classes=10):
        super().__init__()
        temb = 4 * base
        self.base = base
        self.time_1 = nn.Linear(base, temb)
        self.time_2 = nn.Linear(temb, temb)
        self.class_embedding = nn.Embedding(num_classes + 1, temb)
        self.conv_in = nn.Conv2d(1, base, 3, padding=1)
        skips, ch = [base], base
        self.down_res, self.down_attn, self.down_sample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for l, m in enumerate(mults):
            self.down_res.append(ResBlock(ch, base * m, temb))
            ch = base * m
            self.down_attn.append(AttnBlock(ch) if l == len(mults) - 1 else nn.Identity())
            skips.append(ch)
            if l < len(mults) - 1:
                self.down_sample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.mid1, self.mid_attn, self.mid2 = ResBlock(ch, ch, temb), AttnBlock(ch), ResBlock(ch, ch, temb)
        self.up_res, self.up_attn, self.up_conv = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for l in reversed(range(len(mults))):
            res, attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(2):
                res.append(ResBlock(ch + skips.pop(), base * mults[l], temb))
                ch = base * mults[l]
                attn.append(AttnBlock(ch) if l == len(mults) - 1 else nn.Identity())
            self.up_res.append(res)
            self.up_attn.append(attn)
            if l > 0:
                self.up_conv.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.norm_out = nn.GroupNorm(groups_for(ch), ch)
        self.conv_out = nn.Conv2d(ch, 1, 3, padding=1)

    def forward(self, x, t, labels):
        half = self.base // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args_ = t.float()[:, None] * freqs[None]
        emb = self.time_2(F.silu(self.time_1(torch.cat([torch.sin(args_), torch.cos(args_)], 1))))
        emb = emb + self.class_embedding(labels)
        h = self.conv_in(x)
        skips = [h]
        for l in range(len(self.down_res)):
            h = self.down_attn[l](self.down_res[l](h, emb))
            skips.append(h)
            if l < len(self.down_sample):
                h = self.down_sample[l](h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i in range(len(self.up_res)):
            for r, a in zip(self.up_res[i], self.up_attn[i]):
                h = a(r(torch.cat([h, skips.pop()], 1), emb))
            if i < len(self.up_conv):
                h = self.up_conv[i](F.interpolate(h, scale_factor=2, mode='nearest'))
        return self.conv_out(F.silu(self.norm_out(h)))


def ddpm_train():
    steps, B, T = int(args.get('steps', 3)), int(args.get('batch', 32)), 1000
    x = torch.from_numpy(np.fromfile(args['images'], dtype=np.float32)).view(-1, 1, 28, 28) * 2 - 1
    y = torch.from_numpy(np.fromfile(args['labels'], dtype=np.uint8).astype(np.int64))
    # cosine schedule (betas_for_alpha_bar, beta <= 0.999), as NoiseSchedule({ betaSchedule: 'cosine' })
    ab = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = torch.tensor([min(1 - ab((i + 1) / T) / ab(i / T), 0.999) for i in range(T)], dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)
    sa, s1a = abar.sqrt().float(), (1 - abar).sqrt().float()
    model = UNet()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    times = []
    for _ in range(steps + 1):
        ix = torch.randint(len(y), (B,))
        t0 = time.perf_counter()
        x0, labels = x[ix], y[ix].clone()
        labels[torch.rand(B) < 0.1] = 10  # label dropout to the null class
        t = torch.randint(T, (B,))
        noise = torch.randn_like(x0)
        xt = sa[t][:, None, None, None] * x0 + s1a[t][:, None, None, None] * noise
        loss = F.mse_loss(model(xt, t, labels), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    times = times[1:]
    return {'images_per_second': B * len(times) / sum(times), 'ms_per_step': 1000 * sum(times) / len(times),
            'parameters': sum(p.numel() for p in model.parameters())}


result = {'gpt-train': gpt_train, 'gpt-generate': gpt_generate, 'mnist-train': mnist_train, 'ddpm-train': ddpm_train}[task]()
result.update({'task': task, 'threads': threads, 'torch': torch.__version__})
print(json.dumps(result))
