import { InvalidArgumentError } from '@nutshell/core';

export type LoraBias = 'none' | 'all' | 'lora_only';
export type LoraInit = boolean | 'gaussian';

/**
 * The LoRA configuration, with PEFT's LoraConfig field names so that `adapter_config.json` maps one
 * to one. `target_modules`: a string is a regex that must match a module's full dotted path (or the
 * special value "all-linear"); a list matches a path equal to an entry or ending in `.entry`.
 */
export interface LoraConfig {
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string | string[];
  exclude_modules?: string | string[] | null;
  bias: LoraBias;
  use_rslora: boolean;
  use_dora: boolean;
  modules_to_save: string[] | null;
  /**
   * Per-module ranks that differ from `r`, PEFT's rank_pattern: each key is a regex that must match
   * a module path's last dotted components (`(.*\.)?(key)$`); the first matching key wins.
   */
  rank_pattern: Record<string, number>;
  /** Per-module lora_alpha values, resolved like rank_pattern. */
  alpha_pattern: Record<string, number>;
  /** The base weight is stored [in, out] (GPT-2's Conv1D), as PEFT's flag. */
  fan_in_fan_out: boolean;
  init_lora_weights: LoraInit;
  base_model_name_or_path: string | null;
  task_type: string | null;
  inference_mode: boolean;
}

export type LoraConfigInput = Partial<LoraConfig> & Pick<LoraConfig, 'target_modules'>;

/** PEFT's defaults (LoraConfig in peft 0.13): r 8, alpha 8, dropout 0, bias none, Kaiming init. */
export const LORA_DEFAULTS: Omit<LoraConfig, 'target_modules'> = {
  r: 8,
  lora_alpha: 8,
  lora_dropout: 0,
  exclude_modules: null,
  bias: 'none',
  use_rslora: false,
  use_dora: false,
  modules_to_save: null,
  rank_pattern: {},
  alpha_pattern: {},
  fan_in_fan_out: false,
  init_lora_weights: true,
  base_model_name_or_path: null,
  task_type: null,
  inference_mode: false,
};

/** Fills defaults and validates; throws InvalidArgumentError naming the bad field. */
export function loraConfig(input: LoraConfigInput): LoraConfig {
  if (!input || typeof input !== 'object') throw new InvalidArgumentError(`LoRA config: expected an object, got ${String(input)}`);
  const c: LoraConfig = { ...LORA_DEFAULTS, ...input } as LoraConfig;
  if (!Number.isInteger(c.r) || c.r <= 0) throw new InvalidArgumentError(`LoRA config: r must be a positive integer, got ${c.r}`);
  if (!Number.isFinite(c.lora_alpha) || c.lora_alpha <= 0) throw new InvalidArgumentError(`LoRA config: lora_alpha must be > 0, got ${c.lora_alpha}`);
  if (!(c.lora_dropout >= 0 && c.lora_dropout < 1)) throw new InvalidArgumentError(`LoRA config: lora_dropout must be in [0, 1), got ${c.lora_dropout}`);
  if (!['none', 'all', 'lora_only'].includes(c.bias)) throw new InvalidArgumentError(`LoRA config: bias must be none, all or lora_only, got ${JSON.stringify(c.bias)}`);
  if (![true, false, 'gaussian'].includes(c.init_lora_weights as never)) {
    throw new InvalidArgumentError(`LoRA config: init_lora_weights must be true, false or 'gaussian', got ${JSON.stringify(c.init_lora_weights)}`);
  }
  const t = c.target_modules;
  const okTargets = typeof t === 'string' ? t.length > 0 : Array.isArray(t) && t.length > 0 && t.every((s) => typeof s === 'string' && s.length > 0);
  if (!okTargets) throw new InvalidArgumentError(`LoRA config: target_modules must be a regex string, "all-linear" or a non-empty list of names, got ${JSON.stringify(t)}`);
  if (typeof t === 'string' && t !== 'all-linear') {
    try {
      new RegExp(t);
    } catch (e) {
      throw new InvalidArgumentError(`LoRA config: target_modules is not a valid regex: ${(e as Error).message}`);
    }
  }
  if (c.modules_to_save !== null && !(Array.isArray(c.modules_to_save) && c.modules_to_save.every((s) => typeof s === 'string'))) {
    throw new InvalidArgumentError(`LoRA config: modules_to_save must be a list of names or null, got ${JSON.stringify(c.modules_to_save)}`);
  }
  c.rank_pattern = checkPattern('rank_pattern', c.rank_pattern, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  c.alpha_pattern = checkPattern('alpha_pattern', c.alpha_pattern, (v) => Number.isFinite(v) && v > 0, 'a number > 0');
  return c;
}

function checkPattern(field: string, p: unknown, ok: (v: number) => boolean, what: string): Record<string, number> {
  if (p == null) return {};
  if (typeof p !== 'object' || Array.isArray(p)) throw new InvalidArgumentError(`LoRA config: ${field} must be an object of module pattern → value, got ${JSON.stringify(p)}`);
  for (const [k, v] of Object.entries(p as Record<string, unknown>)) {
    if (typeof v !== 'number' || !ok(v)) throw new InvalidArgumentError(`LoRA config: ${field}[${JSON.stringify(k)}] must be ${what}, got ${JSON.stringify(v)}`);
    try {
      new RegExp(k);
    } catch (e) {
      throw new InvalidArgumentError(`LoRA config: ${field} key ${JSON.stringify(k)} is not a valid regex: ${(e as Error).message}`);
    }
  }
  return { ...(p as Record<string, number>) };
}

/**
 * PEFT's get_pattern_key: the first key (in insertion order) such that the module path matches
 * `(.*\.)?(key)$` from its start, i.e. the key matches the path's trailing dotted components.
 */
export function patternKey(keys: Iterable<string>, path: string): string | null {
  for (const key of keys) if (new RegExp(`^(?:.*\\.)?(?:${key})$`).test(path)) return key;
  return null;
}

/** The config a module at `path` gets: r and lora_alpha after rank_pattern / alpha_pattern. */
export function layerConfig(c: LoraConfig, path: string): LoraConfig {
  const rk = patternKey(Object.keys(c.rank_pattern), path);
  const ak = patternKey(Object.keys(c.alpha_pattern), path);
  if (rk === null && ak === null) return c;
  return { ...c, r: rk === null ? c.r : c.rank_pattern[rk]!, lora_alpha: ak === null ? c.lora_alpha : c.alpha_pattern[ak]! };
}

/** Whether any module's rank or alpha is overridden. */
export function hasPatterns(c: LoraConfig): boolean {
  return Object.keys(c.rank_pattern).length > 0 || Object.keys(c.alpha_pattern).length > 0;
}

/** α/r, or α/√r with rank-stabilised LoRA (Kalajdzievski 2023). */
export function loraScaling(c: Pick<LoraConfig, 'r' | 'lora_alpha' | 'use_rslora'>): number {
  return c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;
}

/** The JSON PEFT writes as adapter_config.json (sorted keys like PEFT's `to_json_string`). */
export function configToPeftJson(c: LoraConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    alpha_pattern: { ...c.alpha_pattern },
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path,
    bias: c.bias,
    exclude_modules: c.exclude_modules ?? null,
    fan_in_fan_out: c.fan_in_fan_out,
    inference_mode: c.inference_mode,
    init_lora_weights: c.init_lora_weights,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    modules_to_save: c.modules_to_save,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: { ...c.rank_pattern },
    revision: null,
    target_modules: c.target_modules,
    task_type: c.task_type,
    use_dora: c.use_dora,
    use_rslora: c.use_rslora,
  };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Reads a PEFT adapter_config.json object. layers_to_transform is not implemented and must be
 * null, else the adapter would silently differ: InvalidArgumentError.
 */
export function configFromPeftJson(json: Record<string, unknown>): LoraConfig {
  if (json.peft_type !== undefined && json.peft_type !== 'LORA') throw new InvalidArgumentError(`adapter_config.json: peft_type ${JSON.stringify(json.peft_type)} is not LORA`);
  if (json.layers_to_transform != null) throw new InvalidArgumentError('adapter_config.json: layers_to_transform is not supported yet');
  const pick: Partial<LoraConfig> = {};
  for (const k of Object.keys(LORA_DEFAULTS) as (keyof LoraConfig)[]) if (json[k] !== undefined) (pick as Record<string, unknown>)[k] = json[k];
  return loraConfig({ ...pick, target_modules: json.target_modules as string | string[] });
}
