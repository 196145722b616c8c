import { InvalidArgumentError } from '@nutshell/core';
import { Conv2d, Embedding, Module } from '@nutshell/nn';
import type { LoraConfig } from './config.js';
import { LoraLayer } from './lora-layer.js';
import { isLinearLike } from './lora-linear.js';

/** Every module path of the tree, not descending into LoRA layers (whose insides are not targets). */
export function walkModules(root: Module): [string, Module][] {
  const out: [string, Module][] = [];
  const visit = (m: Module, path: string): void => {
    for (const [name, child] of m.namedChildren()) {
      const p = path ? `${path}.${name}` : name;
      out.push([p, child]);
      if (!(child instanceof LoraLayer)) visit(child, p);
    }
  };
  visit(root, '');
  return out;
}

/**
 * PEFT's check_target_module_exists: a string is a regex that must match the whole path; a list
 * matches a path equal to an entry or ending in `.entry`.
 */
export function matchesPattern(pattern: string | string[], path: string): boolean {
  if (typeof pattern === 'string') return new RegExp(`^(?:${pattern})$`).test(path);
  return pattern.some((t) => path === t || path.endsWith(`.${t}`));
}

/** Whether a module can carry a LoRA adapter. */
export function isAdaptable(m: Module): boolean {
  return m instanceof LoraLayer || isLinearLike(m) || m instanceof Conv2d || m instanceof Embedding;
}

/**
 * The output head that "all-linear" leaves out, as PEFT does with the output embedding: the
 * model's `getOutputEmbeddings()` if it has one, else a module called lm_head / classifier / score
 * (linear or not: a non-linear head, e.g. a tied one, excludes nothing), else the last linear layer
 * in registration order.
 */
export function outputHeadPath(model: Module, linear: [string, Module][]): string | null {
  const getter = (model as { getOutputEmbeddings?: () => Module | null }).getOutputEmbeddings;
  if (typeof getter === 'function') {
    const head = getter.call(model);
    const hit = linear.find(([, m]) => m === head || (m instanceof LoraLayer && m.baseLayer === head));
    if (hit) return hit[0];
  }
  const isHead = (p: string) => /(^|\.)(lm_head|classifier|score)$/.test(p);
  const named = linear.find(([p]) => isHead(p));
  if (named) return named[0];
  // A head that is not a linear layer (GPT's lm_head tied to wte) is still the head: no block
  // linear is left out in its place.
  const other = walkModules(model).find(([p]) => isHead(p));
  if (other) return other[0];
  return linear.length ? linear[linear.length - 1]![0] : null;
}

/**
 * Paths of the modules a config targets. Typed errors: a listed name that matches no module, a
 * regex that matches nothing, or a match on a module type LoRA cannot adapt.
 */
export function resolveTargets(model: Module, config: LoraConfig): string[] {
  const all = walkModules(model);
  const excluded = (p: string) => config.exclude_modules != null && matchesPattern(config.exclude_modules, p);
  if (config.target_modules === 'all-linear') {
    const linear = all.filter(([, m]) => isLinearLike(m) || (m instanceof LoraLayer && m.kind === 'linear'));
    const head = outputHeadPath(model, linear);
    const out = linear.map(([p]) => p).filter((p) => p !== head && !excluded(p));
    if (!out.length) throw new InvalidArgumentError('LoRA: target_modules "all-linear" found no linear layers besides the output head');
    return out;
  }
  const t = config.target_modules;
  const hits = all.filter(([p]) => matchesPattern(t, p) && !excluded(p));
  if (Array.isArray(t)) {
    const unknown = t.filter((name) => !all.some(([p]) => matchesPattern([name], p)));
    if (unknown.length) {
      const names = [...new Set(all.map(([p]) => p.split('.').pop()!))].slice(0, 30).join(', ');
      throw new InvalidArgumentError(`LoRA: target module(s) ${unknown.map((u) => `'${u}'`).join(', ')} not found in the model (module names: ${names})`);
    }
  }
  if (!hits.length) throw new InvalidArgumentError(`LoRA: target_modules ${JSON.stringify(t)} matched no module of the model`);
  const bad = hits.filter(([, m]) => !isAdaptable(m));
  if (bad.length) {
    throw new InvalidArgumentError(`LoRA: target module(s) ${bad.map(([p, m]) => `'${p}' (${m.constructor.name})`).join(', ')} are not supported; LoRA adapts Linear, GPT-2 Conv1D, quantized Linear (NF4), Conv2d and Embedding`);
  }
  return hits.map(([p]) => p);
}
