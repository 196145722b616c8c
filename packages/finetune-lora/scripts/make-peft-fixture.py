"""Writes test/fixtures/peft-gpt2-tiny: what PEFT writes for a LoRA adapter on a tiny GPT-2-named model.

PEFT is not installable here, so this follows its documented layout by hand:
  adapter_config.json       LoraConfig.to_dict() (peft_type "LORA", target_modules, fan_in_fan_out ...)
  adapter_model.safetensors get_peft_model_state_dict(): base_model.model.<module path>.lora_A.weight [r, in],
                            .lora_B.weight [out, r], adapter name removed, metadata {"format": "pt"}
GPT-2's Conv1D stores weights [in, out], hence fan_in_fan_out = true. Also writes the base model
(model.safetensors, GPT2LMHeadModel key names) and reference outputs computed with PyTorch.
Run: /usr/bin/python3 scripts/make-peft-fixture.py
"""
import json, os, struct
import torch

torch.manual_seed(0)
V, D, L, R, ALPHA = 50, 16, 2, 4, 8
out_dir = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'peft-gpt2-tiny')
os.makedirs(out_dir, exist_ok=True)

def save_safetensors(path, tensors, metadata=None):
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.float32:
            dtype, data = 'F32', t.numpy().astype('<f4').tobytes()
        elif t.dtype == torch.int32:
            dtype, data = 'I32', t.numpy().astype('<i4').tobytes()
        else:
            raise ValueError(t.dtype)
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

# Base model, GPT2LMHeadModel names; Conv1D weights [in, out].
base = {'transformer.wte.weight': torch.randn(V, D) * 0.5}
for i in range(L):
    p = f'transformer.h.{i}'
    for name, (fi, fo) in {'attn.c_attn': (D, 3 * D), 'attn.c_proj': (D, D), 'mlp.c_fc': (D, 4 * D), 'mlp.c_proj': (4 * D, D)}.items():
        base[f'{p}.{name}.weight'] = torch.randn(fi, fo) * 0.2
        base[f'{p}.{name}.bias'] = torch.randn(fo) * 0.1
base['lm_head.weight'] = torch.randn(V, D) * 0.2

# LoRA on c_attn and c_proj (suffix match: attn.c_proj and mlp.c_proj), as trained (B nonzero).
targets = ['c_attn', 'c_proj']
scaling = ALPHA / R
adapter = {}
for i in range(L):
    for name in ['attn.c_attn', 'attn.c_proj', 'mlp.c_proj']:
        fi, fo = base[f'transformer.h.{i}.{name}.weight'].shape
        adapter[f'base_model.model.transformer.h.{i}.{name}.lora_A.weight'] = torch.randn(R, fi) * 0.3
        adapter[f'base_model.model.transformer.h.{i}.{name}.lora_B.weight'] = torch.randn(fo, R) * 0.3

def conv1d(x, name, lora):
    w, b = base[f'{name}.weight'], base[f'{name}.bias']
    y = x @ w + b
    k = f'base_model.model.{name}.lora_A.weight'
    if lora and k in adapter:
        A, B = adapter[k], adapter[k.replace('lora_A', 'lora_B')]
        y = y + (x @ A.T @ B.T) * scaling
    return y

def forward(ids, lora):
    h = base['transformer.wte.weight'][ids]
    for i in range(L):
        p = f'transformer.h.{i}'
        a = conv1d(h, f'{p}.attn.c_attn', lora)[..., :D]
        h = h + conv1d(torch.tanh(a), f'{p}.attn.c_proj', lora)
        h = h + conv1d(torch.tanh(conv1d(h, f'{p}.mlp.c_fc', lora)), f'{p}.mlp.c_proj', lora)
    return h @ base['lm_head.weight'].T

ids = torch.randint(0, V, (2, 5), dtype=torch.int32)
with torch.no_grad():
    logits_base = forward(ids.long(), False)
    logits_lora = forward(ids.long(), True)
    # merged weights, as merge_and_unload would write them: W + (s·B·A)ᵀ for fan_in_fan_out
    merged = dict(base)
    for k, A in adapter.items():
        if k.endswith('lora_A.weight'):
            mod = k[len('base_model.model.'):-len('.lora_A.weight')]
            B = adapter[k.replace('lora_A', 'lora_B')]
            merged[f'{mod}.weight'] = base[f'{mod}.weight'] + (B @ A).T * scaling

config = {
    'alpha_pattern': {}, 'auto_mapping': None, 'base_model_name_or_path': 'tiny-gpt2', 'bias': 'none',
    'fan_in_fan_out': True, 'inference_mode': True, 'init_lora_weights': True, 'layers_pattern': None,
    'layers_to_transform': None, 'loftq_config': {}, 'lora_alpha': ALPHA, 'lora_dropout': 0.05,
    'megatron_config': None, 'megatron_core': 'megatron.core', 'modules_to_save': None, 'peft_type': 'LORA',
    'r': R, 'rank_pattern': {}, 'revision': None, 'target_modules': targets, 'task_type': 'CAUSAL_LM',
    'use_dora': False, 'use_rslora': False,
}
with open(os.path.join(out_dir, 'adapter_config.json'), 'w') as f:
    json.dump(config, f, indent=2, sort_keys=True)
save_safetensors(os.path.join(out_dir, 'adapter_model.safetensors'), adapter, {'format': 'pt'})
save_safetensors(os.path.join(out_dir, 'model.safetensors'), base, {'format': 'pt'})
save_safetensors(os.path.join(out_dir, 'expected.safetensors'), {
    'ids': ids, 'logits_base': logits_base, 'logits_lora': logits_lora,
    **{f'merged.{k}': v for k, v in merged.items() if k.endswith('.weight') and 'h.0.attn.c_attn' in k},
})
print('wrote', out_dir)
