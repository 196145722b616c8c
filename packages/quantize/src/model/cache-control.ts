import { InvalidArgumentError } from '@nutshell/core';
import { Module } from '@nutshell/nn';
import { PackedWeightModule } from './modules.js';
import { checkWeightCacheMode, type WeightCacheMode } from './weight-cache.js';

function packedLayers(model: Module, where: string): PackedWeightModule[] {
  if (!(model instanceof Module)) throw new InvalidArgumentError(`${where}: expected an nn Module`);
  return model.modules().filter((m): m is PackedWeightModule => m instanceof PackedWeightModule);
}

/** Sets the dequantized-weight cache mode of every quantized Linear / Conv2d of a tree; returns how many. */
export function setWeightCache(model: Module, mode: WeightCacheMode): number {
  checkWeightCacheMode(mode);
  const layers = packedLayers(model, 'setWeightCache');
  for (const m of layers) m.weightCache = mode;
  return layers.length;
}

/** Frees every dequantized-weight cache of a tree (they are rebuilt on demand); returns the bytes freed. */
export function releaseWeightCaches(model: Module): number {
  let freed = 0;
  for (const m of packedLayers(model, 'releaseWeightCaches')) {
    freed += m.cacheBytes;
    m.releaseWeightCache();
  }
  return freed;
}

/** Bytes of dequantized float32 weights the quantized layers of a tree hold right now. */
export function weightCacheBytes(model: Module): number {
  return packedLayers(model, 'weightCacheBytes').reduce((a, m) => a + m.cacheBytes, 0);
}
