import { activateBackend, backendStatuses } from '../backends.js';

export type StageName = 'gpt' | 'generate' | 'lora' | 'quantize' | 'evaluate' | 'image' | 'audit';

/**
 * Which backend each stage runs on, and why. Measured on the 2-core development machine
 * (tools/bench-compare): on the nanoGPT CPU config wasm (SIMD) trains at ~690 tokens/s against
 * native's ~450, since at these sizes per-op overhead, not matmul FLOPs, decides, and native still
 * runs some ops (GELU pieces, gathers, the optimizer's small updates) in plain JS. `auto` would pick
 * native (highest matmul priority), so the demo chooses explicitly.
 */
const PREFERENCES: Record<StageName, { order: string[]; why: string }> = {
  gpt: { order: ['wasm', 'cpu'], why: 'small GPT training is op-overhead bound: wasm ~1.5× native here (tools/bench-compare)' },
  generate: { order: ['wasm', 'cpu'], why: 'token-by-token decoding with a KV cache: many tiny ops, fastest on wasm' },
  lora: { order: ['wasm', 'cpu'], why: 'same GPT forward/backward as training' },
  quantize: { order: ['wasm', 'cpu'], why: 'dequantization runs in JS; the matmuls that follow are small' },
  evaluate: { order: ['wasm', 'cpu'], why: 'perplexity scoring is a GPT forward pass' },
  image: { order: ['wasm', 'native', 'cpu'], why: 'MLP GAN steps at batch 32 are small matmuls plus elementwise ops: per-op overhead decides, wasm' },
  audit: { order: ['wasm', 'cpu'], why: 'watermarked generation and probe scoring are GPT forward passes' },
};

export interface StageBackend {
  stage: StageName;
  backend: string;
  why: string;
}

export class StageBackends {
  private constructor(private readonly available: Set<string>, private readonly forced: string | undefined) {}

  /** `forced`: a --backend other than auto, used for every stage. */
  static async create(forced: string | undefined): Promise<StageBackends> {
    if (forced) return new StageBackends(new Set([forced]), forced);
    const rows = await backendStatuses(['wasm', 'native']);
    return new StageBackends(new Set(['cpu', ...rows.filter((r) => r.available).map((r) => r.name)]), undefined);
  }

  choose(stage: StageName): StageBackend {
    if (this.forced) return { stage, backend: this.forced, why: `--backend ${this.forced}` };
    const p = PREFERENCES[stage];
    const backend = p.order.find((b) => this.available.has(b)) ?? 'cpu';
    const why = backend === p.order[0] ? p.why : `${p.order[0]} is not available here; ${backend} is the next choice`;
    return { stage, backend, why };
  }

  /** Activates the stage's backend (a no-op when it is already active). */
  async use(stage: StageName): Promise<StageBackend> {
    const choice = this.choose(stage);
    await activateBackend(choice.backend);
    return choice;
  }
}
