import { FormatError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { layerConfig, loraScaling, type LoraConfig } from './config.js';
import { channelNorm, columnNorm, rowNorm } from './dora.js';
import { PEFT_PREFIX } from './lora-model.js';

export interface MergeReport {
  /** Base weight keys that were changed. */
  merged: string[];
  /** Adapter modules_to_save / bias tensors copied over base keys. */
  replaced: string[];
}

/** The key of `path`'s tensor `leaf` in a checkpoint: as is, without a `transformer.` prefix, or with one. */
function findKey(weights: Record<string, Tensor>, path: string, leaf: string): string | undefined {
  const cands = [`${path}.${leaf}`, `${path.replace(/^transformer\./, '')}.${leaf}`, `transformer.${path}.${leaf}`, `${path}.base_layer.${leaf}`];
  return cands.find((k) => k in weights);
}

/**
 * Merges a PEFT LoRA adapter into a checkpoint by tensor name, with no model code: for every
 * adapted module W ← W + s·B·A (transposed for fan_in_fan_out, reshaped for convs, (BA)ᵀ for
 * embeddings; DoRA rescales rows, conv filters or embedding columns to the magnitude vector). Returns new tensors for every key (the
 * caller owns them; inputs are not modified). rank_pattern / alpha_pattern set each module's scaling. Typed errors for keys or shapes that do not fit.
 */
export function mergeAdapterIntoWeights(weights: Record<string, Tensor>, config: LoraConfig, adapter: Record<string, Tensor>): { weights: Record<string, Tensor>; report: MergeReport } {
  const byModule = new Map<string, Record<string, Tensor>>();
  const report: MergeReport = { merged: [], replaced: [] };
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(weights)) out[k] = tf.clone(v);
  try {
    for (const [key, t] of Object.entries(adapter)) {
      if (!key.startsWith(PEFT_PREFIX)) throw new FormatError('peft adapter', `key '${key}' does not start with '${PEFT_PREFIX}'`);
      const rest = key.slice(PEFT_PREFIX.length).replace(/\.default(?=\.|$)/, '');
      const m = /^(.*)\.(lora_A\.weight|lora_B\.weight|lora_embedding_A|lora_embedding_B|lora_magnitude_vector)$/.exec(rest);
      if (m) {
        const entry = byModule.get(m[1]!) ?? {};
        entry[m[2]!] = t;
        byModule.set(m[1]!, entry);
        continue;
      }
      // bias ('all' / 'lora_only') or modules_to_save tensors replace the base tensor outright.
      const i = rest.lastIndexOf('.');
      const target = findKey(weights, rest.slice(0, i), rest.slice(i + 1));
      if (!target) throw new FormatError('peft adapter', `'${key}' names a tensor the checkpoint does not have`);
      out[target]!.dispose();
      out[target] = tf.clone(t);
      report.replaced.push(target);
    }
    for (const [path, e] of byModule) {
      const wKey = findKey(weights, path, 'weight');
      if (!wKey) throw new FormatError('peft adapter', `the checkpoint has no weight for adapted module '${path}' (adapter for another base?)`);
      const W = out[wKey]!;
      const s = loraScaling(layerConfig(config, path)); // rank_pattern / alpha_pattern per module
      const next = tf.tidy(() => {
        let delta: Tensor;
        let canonical: Tensor; // [out, in(, kh, kw)] or [num, dim]
        if (e['lora_embedding_A'] && e['lora_embedding_B']) {
          delta = tf.mul(tf.transpose(tf.matMul(e['lora_embedding_B'], e['lora_embedding_A'])), s);
          canonical = W;
        } else if (e['lora_A.weight'] && e['lora_B.weight']) {
          const A = e['lora_A.weight'];
          const B = e['lora_B.weight'];
          const r = A.shape[0]!;
          delta = tf.mul(tf.matMul(tf.reshape(B, [B.shape[0]!, r]), tf.reshape(A, [r, -1])), s);
          canonical = config.fan_in_fan_out && W.rank === 2 ? tf.transpose(W) : W;
          delta = tf.reshape(delta, canonical.shape);
        } else throw new FormatError('peft adapter', `module '${path}' lacks its A or B matrix`);
        if (delta.size !== canonical.size || delta.shape.some((d, i) => d !== canonical.shape[i])) {
          throw new ShapeError(`peft adapter: '${path}' update has shape [${delta.shape.join(', ')}], the checkpoint weight is [${canonical.shape.join(', ')}]`);
        }
        let merged = tf.add(canonical, delta);
        const mag = e['lora_magnitude_vector'];
        if (mag) {
          // DoRA: rescale by m / ‖W + ΔW‖ over PEFT's axes (rows, conv filters, embedding columns).
          let factor: Tensor;
          if (e['lora_embedding_A']) factor = tf.reshape(tf.div(tf.reshape(mag, [-1]), columnNorm(merged)), [1, -1]);
          else if (merged.rank === 4) factor = tf.reshape(tf.div(tf.reshape(mag, [-1]), tf.reshape(channelNorm(merged), [-1])), [-1, 1, 1, 1]);
          else factor = tf.expandDims(tf.div(tf.reshape(mag, [-1]), rowNorm(merged)), 1);
          merged = tf.mul(factor, merged);
        }
        return config.fan_in_fan_out && W.rank === 2 && !e['lora_embedding_A'] ? tf.transpose(merged) : merged;
      });
      W.dispose();
      out[wKey] = next;
      report.merged.push(wKey);
    }
  } catch (err) {
    for (const t of Object.values(out)) if (!t.isDisposed) t.dispose();
    throw err;
  }
  return { weights: out, report };
}
