#!/usr/bin/env python3
"""PyTorch CPU training throughput of the same GPT as bench/train-gpt.mjs (nanoGPT shakespeare_char,
CPU size: 4 layers, 4 heads, 128 dims, context 64, batch 12, no bias, AdamW), 2 threads.
Prints one JSON line: {"tokens_per_second": ..., "threads": 2, "torch": "..."}."""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

args = dict(a.split('=', 1) for a in sys.argv[1:])
steps = int(args.get('steps', 30))
threads = int(args.get('threads', 2))
L, H, C, T, B, V = 4, 4, 128, 64, 12, 65
torch.set_num_threads(threads)
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)  # torch 1.13 has no bias=False; the extra bias costs nothing measurable
        self.c_attn = nn.Linear(C, 3 * C, bias=False)
        self.c_proj = nn.Linear(C, C, bias=False)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C, bias=False)
        self.mlp_proj = nn.Linear(4 * C, C, bias=False)
        self.register_buffer('mask', torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        att = F.softmax(att.masked_fill(self.mask[:, :, :t, :t] == 0, float('-inf')), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))


model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
data = torch.randint(0, V, (100000,))
times = []
for s in range(steps + 3):
    ix = torch.randint(len(data) - T - 1, (B,))
    x = torch.stack([data[i:i + T] for i in ix])
    y = torch.stack([data[i + 1:i + T + 1] for i in ix])
    t0 = time.perf_counter()
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    times.append(time.perf_counter() - t0)
times = times[3:]  # warm-up steps left out
print(json.dumps({'tokens_per_second': B * T * len(times) / sum(times), 'ms_per_step': 1000 * sum(times) / len(times), 'threads': threads, 'torch': torch.__version__}))
