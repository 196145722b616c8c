import { createProgress, type Progress } from '../progress.js';

/**
 * Progress of a training loop that stops at a step limit or a wall-clock budget, whichever comes
 * first: with a finite budget the bar measures seconds (so it fills when the budget is spent and
 * JSON lines arrive every 10% of it), otherwise steps. The step count travels in the info.
 */
export function budgetProgress(label: string, maxSteps: number, seconds: number): { update(step: number, info?: Record<string, unknown>): void; done(info?: Record<string, unknown>): void } {
  const timed = Number.isFinite(seconds);
  const progress: Progress = createProgress({ label, total: timed ? Math.max(1, Math.round(seconds)) : maxSteps });
  const start = Date.now();
  return {
    update(step, info) {
      const current = timed ? Math.min(Math.round(seconds), Math.floor((Date.now() - start) / 1000)) : step;
      progress.update(current, { step, ...info });
    },
    done(info) {
      progress.done(info);
    },
  };
}
