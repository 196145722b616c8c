#!/usr/bin/env python3
"""Writes test/fixtures/gpt2-tiny: a tiny random GPT-2 in Hugging Face's layout (config.json +
model.safetensors, written here by hand) and the logits a reference forward pass gives.

The forward pass below follows transformers' modeling_gpt2.py (GPT2LMHeadModel, eager attention):
Conv1D (x @ W + b, W stored [in, out]), fused c_attn split into q, k, v, heads, q k^T / sqrt(d),
causal mask by torch.where with finfo.min, softmax, c_proj; MLP c_fc -> gelu_new (tanh form) ->
c_proj; pre-LN blocks with eps layer_norm_epsilon; ln_f; lm_head tied to wte.
Run with Debian's PyTorch: /usr/bin/python3 packages/transformer/scripts/make-gpt2-fixture.py
"""
import json
import math
import os

import torch
from safetensors_f32 import write_safetensors

torch.manual_seed(20240605)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'gpt2-tiny')

cfg = {
    'activation_function': 'gelu_new', 'architectures': ['GPT2LMHeadModel'], 'attn_pdrop': 0.1,
    'bos_token_id': 99, 'embd_pdrop': 0.1, 'eos_token_id': 99, 'initializer_range': 0.02,
    'layer_norm_epsilon': 1e-5, 'model_type': 'gpt2', 'n_ctx': 16, 'n_embd': 32, 'n_head': 2,
    'n_inner': None, 'n_layer': 2, 'n_positions': 16, 'resid_pdrop': 0.1, 'scale_attn_weights': True,
    'summary_activation': None, 'summary_first_dropout': 0.1, 'summary_proj_to_labels': True,
    'summary_type': 'cls_index', 'summary_use_proj': True, 'torch_dtype': 'float32',
    'transformers_version': '4.40.0', 'use_cache': True, 'vocab_size': 100,
}
C, H, L, V, P = cfg['n_embd'], cfg['n_head'], cfg['n_layer'], cfg['vocab_size'], cfg['n_positions']
inner = 4 * C

# Larger-than-init weights so the logits are far from uniform and every parameter matters.
def rnd(*shape, std=0.3):
    return torch.randn(*shape) * std

sd = {'transformer.wte.weight': rnd(V, C), 'transformer.wpe.weight': rnd(P, C, std=0.1)}
for i in range(L):
    p = f'transformer.h.{i}.'
    sd[p + 'ln_1.weight'] = 1 + rnd(C, std=0.1)
    sd[p + 'ln_1.bias'] = rnd(C, std=0.1)
    sd[p + 'attn.c_attn.weight'] = rnd(C, 3 * C, std=0.2)
    sd[p + 'attn.c_attn.bias'] = rnd(3 * C, std=0.1)
    sd[p + 'attn.c_proj.weight'] = rnd(C, C, std=0.2)
    sd[p + 'attn.c_proj.bias'] = rnd(C, std=0.1)
    sd[p + 'ln_2.weight'] = 1 + rnd(C, std=0.1)
    sd[p + 'ln_2.bias'] = rnd(C, std=0.1)
    sd[p + 'mlp.c_fc.weight'] = rnd(C, inner, std=0.2)
    sd[p + 'mlp.c_fc.bias'] = rnd(inner, std=0.1)
    sd[p + 'mlp.c_proj.weight'] = rnd(inner, C, std=0.1)
    sd[p + 'mlp.c_proj.bias'] = rnd(C, std=0.1)
sd['transformer.ln_f.weight'] = 1 + rnd(C, std=0.1)
sd['transformer.ln_f.bias'] = rnd(C, std=0.1)


def conv1d(x, w, b):
    # transformers.pytorch_utils.Conv1D: addmm(bias, x.view(-1, nx), weight)
    size_out = x.size()[:-1] + (w.size(1),)
    return torch.addmm(b, x.view(-1, x.size(-1)), w).view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def attn(x, p):
    B, T, _ = x.shape
    q, k, v = conv1d(x, sd[p + 'attn.c_attn.weight'], sd[p + 'attn.c_attn.bias']).split(C, dim=2)
    heads = lambda t: t.view(B, T, H, C // H).permute(0, 2, 1, 3)
    q, k, v = heads(q), heads(k), heads(v)
    w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=q.dtype)
    causal = torch.tril(torch.ones((P, P), dtype=torch.bool)).view(1, 1, P, P)[:, :, :T, :T]
    w = torch.where(causal, w.to(w.dtype), torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
    w = torch.nn.functional.softmax(w, dim=-1)
    o = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
    return conv1d(o, sd[p + 'attn.c_proj.weight'], sd[p + 'attn.c_proj.bias'])


def ln(x, name):
    return torch.nn.functional.layer_norm(x, (C,), sd[name + '.weight'], sd[name + '.bias'], cfg['layer_norm_epsilon'])


def forward(ids):
    B, T = ids.shape
    h = sd['transformer.wte.weight'][ids] + sd['transformer.wpe.weight'][torch.arange(T)].unsqueeze(0)
    for i in range(L):
        p = f'transformer.h.{i}.'
        h = h + attn(ln(h, p + 'ln_1'), p)
        m = conv1d(ln(h, p + 'ln_2'), sd[p + 'mlp.c_fc.weight'], sd[p + 'mlp.c_fc.bias'])
        h = h + conv1d(gelu_new(m), sd[p + 'mlp.c_proj.weight'], sd[p + 'mlp.c_proj.bias'])
    h = ln(h, 'transformer.ln_f')
    return torch.matmul(h, sd['transformer.wte.weight'].t())  # lm_head tied to wte


os.makedirs(OUT, exist_ok=True)
with torch.no_grad():
    ids = torch.tensor([[5, 17, 42, 99, 0, 63, 7, 7, 31, 88, 12, 3], [64, 1, 2, 3, 50, 50, 99, 98, 20, 40, 60, 80]])
    logits = forward(ids)
    # The first 5 tokens alone: causality means these rows must equal the first rows above.
    short = forward(ids[:, :5])
    assert torch.allclose(short, logits[:, :5], atol=1e-5)
# save_pretrained of a tied GPT2LMHeadModel drops lm_head.weight; so do we.
write_safetensors(os.path.join(OUT, 'model.safetensors'), sd, {'format': 'pt'})
with open(os.path.join(OUT, 'config.json'), 'w') as f:
    json.dump(cfg, f, indent=2)
    f.write('\n')
with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump({'input_ids': ids.tolist(), 'logits': [[[round(float(v), 7) for v in row] for row in seq] for seq in logits],
               'torch_version': torch.__version__}, f, separators=(',', ':'))
    f.write('\n')
print('wrote', OUT, 'logits', tuple(logits.shape), 'std', float(logits.std()))
