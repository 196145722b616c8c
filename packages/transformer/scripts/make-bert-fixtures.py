#!/usr/bin/env python3
"""Writes test/fixtures/bert: two tiny random BERTs in Hugging Face's layout (config.json +
model.safetensors, written here by hand) and what a reference forward pass gives.

  mlm/  a BertForMaskedLM save: bert.embeddings.*, bert.encoder.layer.N.*, no pooler,
        cls.predictions.{transform.dense, transform.LayerNorm, bias}; the decoder is tied to the
        word embeddings and, as save_pretrained does, not stored.
  cls/  a BertForSequenceClassification save (3 labels): bert.* with bert.pooler.dense, classifier.
  expected.json  inputs (ids, attention mask with padding, token types) and outputs: MLM logits of
        mlm/, last hidden state + pooler output (BertModel) and classifier logits of cls/.

`transformers` is not installed here, so the forward pass below restates modeling_bert.py (eager
attention, absolute positions) in plain torch with HF's parameter names:
embeddings = LayerNorm(word[ids] + token_type[tt] + position[arange(T)]); per layer:
a = LayerNorm(dense(softmax(q k^T / sqrt(d) + (1 - mask) * finfo.min) v) + x),
out = LayerNorm(dense(gelu(dense(a))) + a) with exact (erf) gelu; pooler = tanh(dense(h[:, 0]));
MLM head = decoder(LayerNorm(gelu(dense(h)))) + bias; classifier = Linear(pooler output).
Run with Debian's PyTorch: /usr/bin/python3 packages/transformer/scripts/make-bert-fixtures.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors_f32 import write_safetensors

torch.manual_seed(20240611)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'bert')

V, C, H, L, I, P, TV, LABELS = 60, 16, 4, 2, 40, 16, 2, 3
EPS = 1e-12


def config(arch, num_labels):
    labels = [f'LABEL_{i}' for i in range(num_labels)]
    return {
        'architectures': [arch], 'attention_probs_dropout_prob': 0.1, 'classifier_dropout': None,
        'hidden_act': 'gelu', 'hidden_dropout_prob': 0.1, 'hidden_size': C,
        'id2label': {str(i): l for i, l in enumerate(labels)}, 'initializer_range': 0.02,
        'intermediate_size': I, 'label2id': {l: i for i, l in enumerate(labels)}, 'layer_norm_eps': EPS,
        'max_position_embeddings': P, 'model_type': 'bert', 'num_attention_heads': H,
        'num_hidden_layers': L, 'pad_token_id': 0, 'position_embedding_type': 'absolute',
        'torch_dtype': 'float32', 'transformers_version': '4.40.0', 'type_vocab_size': TV,
        'use_cache': True, 'vocab_size': V,
    }


# Larger-than-init weights so outputs are far from trivial and every parameter matters.
def rnd(*shape, std=0.3):
    return torch.randn(*shape) * std


def encoder_params(prefix, pooler):
    sd = {
        prefix + 'embeddings.word_embeddings.weight': rnd(V, C, std=0.5),
        prefix + 'embeddings.position_embeddings.weight': rnd(P, C, std=0.2),
        prefix + 'embeddings.token_type_embeddings.weight': rnd(TV, C, std=0.3),
        prefix + 'embeddings.LayerNorm.weight': 1 + rnd(C, std=0.1),
        prefix + 'embeddings.LayerNorm.bias': rnd(C, std=0.1),
    }
    for i in range(L):
        p = f'{prefix}encoder.layer.{i}.'
        for n in ('query', 'key', 'value'):
            sd[p + f'attention.self.{n}.weight'] = rnd(C, C, std=0.4)
            sd[p + f'attention.self.{n}.bias'] = rnd(C, std=0.1)
        sd[p + 'attention.output.dense.weight'] = rnd(C, C, std=0.3)
        sd[p + 'attention.output.dense.bias'] = rnd(C, std=0.1)
        sd[p + 'attention.output.LayerNorm.weight'] = 1 + rnd(C, std=0.1)
        sd[p + 'attention.output.LayerNorm.bias'] = rnd(C, std=0.1)
        sd[p + 'intermediate.dense.weight'] = rnd(I, C, std=0.5)
        sd[p + 'intermediate.dense.bias'] = rnd(I, std=0.2)
        sd[p + 'output.dense.weight'] = rnd(C, I, std=0.3)
        sd[p + 'output.dense.bias'] = rnd(C, std=0.1)
        sd[p + 'output.LayerNorm.weight'] = 1 + rnd(C, std=0.1)
        sd[p + 'output.LayerNorm.bias'] = rnd(C, std=0.1)
    if pooler:
        sd[prefix + 'pooler.dense.weight'] = rnd(C, C, std=0.4)
        sd[prefix + 'pooler.dense.bias'] = rnd(C, std=0.1)
    return sd


def linear(x, sd, name):
    return F.linear(x, sd[name + '.weight'], sd[name + '.bias'])


def ln(x, sd, name):
    return F.layer_norm(x, (C,), sd[name + '.weight'], sd[name + '.bias'], EPS)


def bert(sd, prefix, ids, mask, tt):
    B, T = ids.shape
    e = prefix + 'embeddings.'
    h = sd[e + 'word_embeddings.weight'][ids] + sd[e + 'token_type_embeddings.weight'][tt]
    h = h + sd[e + 'position_embeddings.weight'][torch.arange(T)].unsqueeze(0)
    h = ln(h, sd, e + 'LayerNorm')
    ext = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
    d = C // H
    heads = lambda t: t.view(B, T, H, d).permute(0, 2, 1, 3)
    for i in range(L):
        p = f'{prefix}encoder.layer.{i}.'
        q = heads(linear(h, sd, p + 'attention.self.query'))
        k = heads(linear(h, sd, p + 'attention.self.key'))
        v = heads(linear(h, sd, p + 'attention.self.value'))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + ext
        ctx = torch.matmul(F.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        a = ln(linear(ctx, sd, p + 'attention.output.dense') + h, sd, p + 'attention.output.LayerNorm')
        m = F.gelu(linear(a, sd, p + 'intermediate.dense'))
        h = ln(linear(m, sd, p + 'output.dense') + a, sd, p + 'output.LayerNorm')
    pooled = torch.tanh(linear(h[:, 0], sd, prefix + 'pooler.dense')) if prefix + 'pooler.dense.weight' in sd else None
    return h, pooled


def save(name, sd, cfg):
    os.makedirs(os.path.join(OUT, name), exist_ok=True)
    write_safetensors(os.path.join(OUT, name, 'model.safetensors'), sd, {'format': 'pt'})
    with open(os.path.join(OUT, name, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')


def r(t):
    return [round(float(v), 7) for v in t] if t.dim() == 1 else [r(x) for x in t]


mlm = encoder_params('bert.', pooler=False)
mlm['cls.predictions.transform.dense.weight'] = rnd(C, C, std=0.4)
mlm['cls.predictions.transform.dense.bias'] = rnd(C, std=0.1)
mlm['cls.predictions.transform.LayerNorm.weight'] = 1 + rnd(C, std=0.1)
mlm['cls.predictions.transform.LayerNorm.bias'] = rnd(C, std=0.1)
mlm['cls.predictions.bias'] = rnd(V, std=0.2)

cls = encoder_params('bert.', pooler=True)
cls['classifier.weight'] = rnd(LABELS, C, std=0.5)
cls['classifier.bias'] = rnd(LABELS, std=0.1)

# [CLS]=2 … [SEP]=3; the second row is padded (id 0, mask 0) and has a second segment.
ids = torch.tensor([[2, 17, 42, 5, 3, 33, 8, 59, 11, 3], [2, 9, 4, 3, 21, 22, 3, 0, 0, 0]])
mask = torch.tensor([[1] * 10, [1] * 7 + [0] * 3])
tt = torch.tensor([[0] * 5 + [1] * 5, [0] * 4 + [1] * 3 + [0] * 3])

with torch.no_grad():
    h_mlm, _ = bert(mlm, 'bert.', ids, mask, tt)
    t = F.gelu(linear(h_mlm, mlm, 'cls.predictions.transform.dense'))
    t = ln(t, mlm, 'cls.predictions.transform.LayerNorm')
    mlm_logits = torch.matmul(t, mlm['bert.embeddings.word_embeddings.weight'].t()) + mlm['cls.predictions.bias']
    hidden, pooled = bert(cls, 'bert.', ids, mask, tt)
    cls_logits = linear(pooled, cls, 'classifier')
    # Padding must not change the real tokens' states: row 1 alone (7 tokens, no mask) agrees.
    alone, _ = bert(cls, 'bert.', ids[1:, :7], mask[1:, :7], tt[1:, :7])
    assert torch.allclose(alone, hidden[1:, :7], atol=1e-5)

save('mlm', mlm, config('BertForMaskedLM', 2))
save('cls', cls, config('BertForSequenceClassification', LABELS))
with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump({
        'input_ids': ids.tolist(), 'attention_mask': mask.tolist(), 'token_type_ids': tt.tolist(),
        'mlm_logits': r(mlm_logits), 'last_hidden_state': r(hidden), 'pooler_output': r(pooled),
        'classifier_logits': r(cls_logits), 'torch_version': torch.__version__,
    }, f, separators=(',', ':'))
    f.write('\n')
print('wrote', OUT, 'mlm logits std', float(mlm_logits.std()), 'hidden std', float(hidden.std()), 'cls logits', cls_logits.tolist())
