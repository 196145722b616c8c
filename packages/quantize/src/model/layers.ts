import { Conv2d, Embedding, Linear, type Module } from '@nutshell/nn';
import type { LayerKind } from './recipe.js';
import { isFanInFanOutLayer } from './fan-in-fan-out.js';

export function layerKind(m: Module): LayerKind | null {
  if (m instanceof Linear) return 'linear';
  if (m instanceof Conv2d) return 'conv2d';
  if (m instanceof Embedding) return 'embedding';
  // GPT-2 Conv1D and the like: a linear layer with its weight stored [in, out].
  if (isFanInFanOutLayer(m)) return 'linear';
  return null;
}

/** Float layers of a tree with their dotted paths, in registration order. */
export function quantizableLayers(model: Module): [string, Module, LayerKind][] {
  const out: [string, Module, LayerKind][] = [];
  for (const [name, m] of model.namedModules()) {
    const kind = layerKind(m);
    if (kind && name !== '') out.push([name, m, kind]);
  }
  return out;
}
