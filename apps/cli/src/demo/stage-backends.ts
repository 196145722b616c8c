import { activateBackend, backendStatuses } from '../backends.js';
import type { ProbeTimes, Workload } from './backend-probe.js';

export type StageName = 'gpt' | 'generate' | 'lora' | 'quantize' | 'evaluate' | 'image' | 'audit';

/** What each stage spends its time on, so the probe of that workload decides its backend. */
const STAGE_WORKLOAD: Record<StageName, { workload: Workload; what: string }> = {
  gpt: { workload: 'train', what: 'GPT training steps' },
  generate: { workload: 'decode', what: 'token-by-token decoding with the KV cache' },
  lora: { workload: 'train', what: 'the same GPT forward/backward as training' },
  quantize: { workload: 'train', what: 'GPT forward passes (perplexity of each variant)' },
  evaluate: { workload: 'train', what: 'GPT forward passes (perplexity)' },
  image: { workload: 'gan', what: 'MLP GAN steps' },
  audit: { workload: 'decode', what: 'watermarked decoding and probe scoring' },
};

const UNIT: Record<Workload, string> = { train: 's/step', decode: 'ms/token', gan: 's/step' };
const SCALE: Record<Workload, number> = { train: 1, decode: 1000, gan: 1 };

export interface StageBackend {
  stage: StageName;
  backend: string;
  why: string;
}

/** Backends the demo measures and may choose from (cpu only when neither loads: it is ~20× slower). */
export const CANDIDATES = ['native', 'wasm'] as const;

/**
 * Which backend each stage runs on, and why: by the start-up measurement of the demo's own
 * workloads on every available backend (see backend-probe.ts), or --backend for every stage.
 */
export class StageBackends {
  private constructor(
    readonly available: string[],
    readonly unavailable: { name: string; reason: string }[],
    private readonly forced: string | undefined,
    private probes: Map<string, ProbeTimes> = new Map(),
  ) {}

  /** `forced`: a --backend other than auto, used for every stage. */
  static async create(forced: string | undefined): Promise<StageBackends> {
    if (forced) return new StageBackends([forced], [], forced);
    const rows = await backendStatuses([...CANDIDATES]);
    const ok = rows.filter((r) => r.available && (CANDIDATES as readonly string[]).includes(r.name)).map((r) => r.name);
    const missing = rows.filter((r) => !r.available && (CANDIDATES as readonly string[]).includes(r.name)).map((r) => ({ name: r.name, reason: r.reason }));
    return new StageBackends(ok.length ? ok : ['cpu'], missing, undefined);
  }

  /** True when there is a choice to measure. */
  get needsProbe(): boolean {
    return !this.forced && this.available.length > 1;
  }

  setProbe(backend: string, times: ProbeTimes): void {
    this.probes.set(backend, times);
  }

  get probeResults(): Record<string, ProbeTimes> {
    return Object.fromEntries(this.probes);
  }

  /** Measured seconds per unit of a workload on a backend (undefined when it was not probed). */
  time(backend: string, workload: Workload): number | undefined {
    return this.probes.get(backend)?.[workload];
  }

  choose(stage: StageName): StageBackend {
    if (this.forced) return { stage, backend: this.forced, why: `--backend ${this.forced}` };
    const { workload, what } = STAGE_WORKLOAD[stage];
    const measured = this.available.filter((b) => this.probes.has(b));
    if (measured.length < 2) {
      const backend = measured[0] ?? this.available[0]!;
      const others = this.unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ');
      return { stage, backend, why: `the only backend available here${others ? ` (${others})` : ''}` };
    }
    const ranked = [...measured].sort((a, b) => this.probes.get(a)![workload] - this.probes.get(b)![workload]);
    const best = ranked[0]!;
    const fmt = (b: string) => `${b} ${(this.probes.get(b)![workload] * SCALE[workload]).toFixed(workload === 'decode' ? 1 : 3)} ${UNIT[workload]}`;
    const ratio = this.probes.get(ranked[1]!)![workload] / this.probes.get(best)![workload];
    return { stage, backend: best, why: `${what}: measured at start-up ${ranked.map(fmt).join(' vs ')} (${ratio.toFixed(1)}× faster)` };
  }

  /** Activates the stage's backend (a no-op when it is already active). */
  async use(stage: StageName): Promise<StageBackend> {
    const choice = this.choose(stage);
    await activateBackend(choice.backend);
    return choice;
  }
}
