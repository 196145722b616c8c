#!/usr/bin/env python3
"""Writes test/fixtures/t5/{v1_0,v1_1}: tiny random T5 checkpoints in Hugging Face's layout
(config.json + model.safetensors, written here by hand) and what a reference forward pass gives.

`transformers` is not installed here, so T5ForConditionalGeneration (modeling_t5.py, eager
attention) is restated in plain torch with HF's parameter names:
- T5LayerNorm: RMS norm without mean subtraction or bias, eps layer_norm_epsilon;
- T5Attention: q, k, v, o Linear without bias, inner dim n_heads*d_kv, scores q k^T with NO
  1/sqrt(d) scaling, plus a position bias from `relative_attention_bias` (block 0 only; reused by
  later blocks) to which the additive attention mask (finfo.min) is added; softmax in float32;
- _relative_position_bucket exactly as HF (bidirectional in the encoder, causal in the decoder);
- T5DenseActDense (wi -> act -> wo) or T5DenseGatedActDense (act(wi_0) * wi_1 -> wo), with
  feed_forward_proj "relu" (v1.0) or "gated-gelu" (v1.1, act = gelu_new);
- final_layer_norm per stack; the decoder output scaled by d_model**-0.5 when
  tie_word_embeddings, then lm_head (tied to `shared` when tie_word_embeddings).
Run with Debian's PyTorch: /usr/bin/python3 packages/transformer/scripts/make-t5-fixtures.py
"""
import json
import math
import os

import torch
from safetensors_f32 import write_safetensors

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 't5')


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    # Verbatim logic of T5Attention._relative_position_bucket.
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


ACT = {
    'relu': torch.relu,
    'gelu_new': lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
}


class T5:
    def __init__(self, cfg, sd):
        self.cfg, self.sd = cfg, sd
        self.gated = cfg['feed_forward_proj'].startswith('gated-')
        self.act = ACT[cfg['dense_act_fn']]
        self.H, self.dkv = cfg['num_heads'], cfg['d_kv']

    def w(self, name):
        return self.sd[name]

    def norm(self, x, name):
        var = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        return self.w(name) * (x * torch.rsqrt(var + self.cfg['layer_norm_epsilon']))

    def compute_bias(self, prefix, q_len, k_len, bidirectional):
        ctx = torch.arange(q_len, dtype=torch.long)[:, None]
        mem = torch.arange(k_len, dtype=torch.long)[None, :]
        buckets = relative_position_bucket(mem - ctx, bidirectional, self.cfg['relative_attention_num_buckets'],
                                           self.cfg['relative_attention_max_distance'])
        values = torch.nn.functional.embedding(buckets, self.w(prefix + 'relative_attention_bias.weight'))
        return values.permute([2, 0, 1]).unsqueeze(0)

    def attention(self, prefix, x, kv, position_bias, mask, has_bias, bidirectional):
        B, T, _ = x.shape
        S = kv.shape[1]
        shape = lambda t: t.view(B, -1, self.H, self.dkv).transpose(1, 2)
        q = shape(x @ self.w(prefix + 'q.weight').t())
        k = shape(kv @ self.w(prefix + 'k.weight').t())
        v = shape(kv @ self.w(prefix + 'v.weight').t())
        scores = torch.matmul(q, k.transpose(3, 2))
        if position_bias is None:
            if has_bias:
                position_bias = self.compute_bias(prefix, T, S, bidirectional)
            else:
                position_bias = torch.zeros((1, self.H, T, S), dtype=scores.dtype)
            position_bias = position_bias + mask
        scores = scores + position_bias
        weights = torch.nn.functional.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(weights, v).transpose(1, 2).contiguous().view(B, -1, self.H * self.dkv)
        return out @ self.w(prefix + 'o.weight').t(), position_bias

    def ff(self, prefix, x):
        p = prefix + 'DenseReluDense.'
        if self.gated:
            h = self.act(x @ self.w(p + 'wi_0.weight').t()) * (x @ self.w(p + 'wi_1.weight').t())
        else:
            h = self.act(x @ self.w(p + 'wi.weight').t())
        return h @ self.w(p + 'wo.weight').t()

    def encode(self, ids, attention_mask):
        h = torch.nn.functional.embedding(ids, self.w('shared.weight'))
        ext = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        bias = None
        for i in range(self.cfg['num_layers']):
            p = f'encoder.block.{i}.'
            a, bias = self.attention(p + 'layer.0.SelfAttention.', self.norm(h, p + 'layer.0.layer_norm.weight'),
                                     self.norm(h, p + 'layer.0.layer_norm.weight'), bias, ext, i == 0, True)
            h = h + a
            h = h + self.ff(p + 'layer.1.', self.norm(h, p + 'layer.1.layer_norm.weight'))
        return self.norm(h, 'encoder.final_layer_norm.weight')

    def decode(self, dec_ids, enc, attention_mask):
        B, T = dec_ids.shape
        h = torch.nn.functional.embedding(dec_ids, self.w('shared.weight'))
        causal = torch.tril(torch.ones(T, T))[None, None]
        self_mask = (1.0 - causal) * torch.finfo(torch.float32).min
        cross_mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        sb, cb = None, None
        for i in range(self.cfg['num_decoder_layers']):
            p = f'decoder.block.{i}.'
            n = self.norm(h, p + 'layer.0.layer_norm.weight')
            a, sb = self.attention(p + 'layer.0.SelfAttention.', n, n, sb, self_mask, i == 0, False)
            h = h + a
            n = self.norm(h, p + 'layer.1.layer_norm.weight')
            a, cb = self.attention(p + 'layer.1.EncDecAttention.', n, enc, cb, cross_mask, False, False)
            h = h + a
            h = h + self.ff(p + 'layer.2.', self.norm(h, p + 'layer.2.layer_norm.weight'))
        h = self.norm(h, 'decoder.final_layer_norm.weight')
        if self.cfg['tie_word_embeddings']:
            h = h * (self.cfg['d_model'] ** -0.5)
            return h @ self.w('shared.weight').t()
        return h @ self.w('lm_head.weight').t()


def make_sd(cfg, gen):
    D, F, H, dkv, V = cfg['d_model'], cfg['d_ff'], cfg['num_heads'], cfg['d_kv'], cfg['vocab_size']
    inner = H * dkv
    rnd = lambda *shape, std=0.25: torch.randn(*shape, generator=gen) * std
    sd = {'shared.weight': rnd(V, D, std=1.0)}
    gated = cfg['feed_forward_proj'].startswith('gated-')

    def ffn(p):
        if gated:
            sd[p + 'DenseReluDense.wi_0.weight'] = rnd(F, D)
            sd[p + 'DenseReluDense.wi_1.weight'] = rnd(F, D)
        else:
            sd[p + 'DenseReluDense.wi.weight'] = rnd(F, D)
        sd[p + 'DenseReluDense.wo.weight'] = rnd(D, F)

    def attn(p, bias):
        for n in 'qkv':
            sd[p + n + '.weight'] = rnd(inner, D)
        sd[p + 'o.weight'] = rnd(D, inner)
        if bias:
            sd[p + 'relative_attention_bias.weight'] = rnd(cfg['relative_attention_num_buckets'], H, std=1.0)

    ln = lambda: 1 + rnd(D, std=0.2)
    for i in range(cfg['num_layers']):
        p = f'encoder.block.{i}.'
        attn(p + 'layer.0.SelfAttention.', i == 0)
        sd[p + 'layer.0.layer_norm.weight'] = ln()
        ffn(p + 'layer.1.')
        sd[p + 'layer.1.layer_norm.weight'] = ln()
    sd['encoder.final_layer_norm.weight'] = ln()
    for i in range(cfg['num_decoder_layers']):
        p = f'decoder.block.{i}.'
        attn(p + 'layer.0.SelfAttention.', i == 0)
        sd[p + 'layer.0.layer_norm.weight'] = ln()
        attn(p + 'layer.1.EncDecAttention.', False)
        sd[p + 'layer.1.layer_norm.weight'] = ln()
        ffn(p + 'layer.2.')
        sd[p + 'layer.2.layer_norm.weight'] = ln()
    sd['decoder.final_layer_norm.weight'] = ln()
    if not cfg['tie_word_embeddings']:
        sd['lm_head.weight'] = rnd(V, D, std=0.5)
    return sd


def base_config(**over):
    cfg = {
        'architectures': ['T5ForConditionalGeneration'], 'classifier_dropout': 0.0, 'd_ff': 24, 'd_kv': 6,
        'd_model': 16, 'decoder_start_token_id': 0, 'dense_act_fn': 'relu', 'dropout_rate': 0.1,
        'eos_token_id': 1, 'feed_forward_proj': 'relu', 'initializer_factor': 1.0, 'is_encoder_decoder': True,
        'is_gated_act': False, 'layer_norm_epsilon': 1e-6, 'model_type': 't5', 'num_decoder_layers': 2,
        'num_heads': 2, 'num_layers': 2, 'pad_token_id': 0, 'relative_attention_max_distance': 16,
        'relative_attention_num_buckets': 8, 'tie_word_embeddings': True, 'torch_dtype': 'float32',
        'transformers_version': '4.40.0', 'use_cache': True, 'vocab_size': 48,
    }
    cfg.update(over)
    return cfg


def rounded(t):
    return [[[round(float(v), 6) for v in row] for row in seq] for seq in t]


def build(name, cfg, seed, extra_keys=False):
    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    sd = make_sd(cfg, gen)
    model = T5(cfg, sd)
    ids = torch.tensor([[5, 17, 42, 9, 33, 3, 28, 11, 40, 1], [7, 7, 21, 30, 2, 1, 0, 0, 0, 0]])
    mask = (torch.arange(10)[None, :] < torch.tensor([[10], [6]])).long()
    dec = torch.tensor([[0, 12, 4, 4, 39, 20, 8], [0, 3, 44, 15, 1, 0, 0]])
    with torch.no_grad():
        enc = model.encode(ids, mask)
        logits = model.decode(dec, enc, mask)
        # Causality: a shorter decoder prefix must give the same first rows.
        assert torch.allclose(model.decode(dec[:, :3], enc, mask), logits[:, :3], atol=1e-5)
        # Greedy decoding of row 0 (HF semantics: start token 0, stop after eos), uncached.
        seq = [cfg['decoder_start_token_id']]
        for _ in range(8):
            nxt = int(model.decode(torch.tensor([seq]), enc[:1], mask[:1])[0, -1].argmax())
            seq.append(nxt)
            if nxt == cfg['eos_token_id']:
                break
    saved = dict(sd)
    if extra_keys:
        # Older hub files also carry the tied embed_tokens copies; a loader must accept them.
        saved['encoder.embed_tokens.weight'] = sd['shared.weight']
        saved['decoder.embed_tokens.weight'] = sd['shared.weight']
    write_safetensors(os.path.join(out, 'model.safetensors'), saved, {'format': 'pt'})
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump({'input_ids': ids.tolist(), 'attention_mask': mask.tolist(), 'decoder_input_ids': dec.tolist(),
                   'encoder_last_hidden_state': rounded(enc), 'logits': rounded(logits), 'greedy': seq[1:],
                   'torch_version': torch.__version__}, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', out, 'logits', tuple(logits.shape), 'std', float(logits.std()), 'greedy', seq[1:])


build('v1_0', base_config(), 4)
build('v1_1', base_config(feed_forward_proj='gated-gelu', dense_act_fn='gelu_new', is_gated_act=True,
                          tie_word_embeddings=False, num_decoder_layers=1, d_ff=20), 2, extra_keys=True)

# Bucket tables over relative positions -300..300 for HF's defaults and the fixtures' setting.
rel = torch.arange(-300, 301)
buckets = {}
for nb, md in [(32, 128), (8, 16), (16, 40)]:
    for bi in (True, False):
        buckets[f'{nb}/{md}/{"bi" if bi else "causal"}'] = relative_position_bucket(rel, bi, nb, md).tolist()
with open(os.path.join(ROOT, 'buckets.json'), 'w') as f:
    json.dump({'relative_positions': [-300, 300], 'buckets': buckets}, f, separators=(',', ':'))
    f.write('\n')
print('wrote buckets')
