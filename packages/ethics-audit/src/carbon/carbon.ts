import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, describe } from '@nutshell/core';
import { gridIntensity } from './grid-intensity.js';

export interface EmissionsReport {
  durationS: number;
  /** CPU time (user + system) of this process. */
  cpuTimeS: number;
  /** Average power attributed to the run, watts. */
  powerW: number;
  /** 'rapl' when measured from /sys/class/powercap, else 'tdp-fallback' (an estimate). */
  powerSource: 'rapl' | 'tdp-fallback';
  /** True when power is the TDP-based fallback estimate, not a measurement. */
  fallback: boolean;
  tdpW?: number;
  /** Facility overhead multiplier (1 = none). */
  pue: number;
  energyKWh: number;
  region: string;
  gridIntensity: number;
  gridSource: string;
  emissionsKg: number;
  hardware: string;
  note: string;
}

export interface CarbonOptions {
  /** ISO 3166 alpha-3 code of the grid, or "WORLD" (default). */
  region?: string;
  /** Power usage effectiveness of the facility (default 1, as CodeCarbon). */
  pue?: number;
  /** CPU TDP for the fallback estimate (default 85 W, CodeCarbon's default for unknown CPUs). */
  tdpW?: number;
  /** Where RAPL lives (tests point this at a fake tree). */
  raplRoot?: string;
}

export const DEFAULT_TDP_W = 85;

/** Reads package-level RAPL energy counters (µJ) and their wrap ranges; undefined when unreadable. */
export function readRapl(root = '/sys/class/powercap'): { domains: string[]; energyUj: number[]; maxUj: number[] } | undefined {
  try {
    const domains = readdirSync(root).filter((d) => /^intel-rapl:\d+$/.test(d)).sort();
    if (domains.length === 0) return undefined;
    const energyUj = domains.map((d) => Number(readFileSync(join(root, d, 'energy_uj'), 'utf8').trim()));
    const maxUj = domains.map((d) => {
      try {
        return Number(readFileSync(join(root, d, 'max_energy_range_uj'), 'utf8').trim());
      } catch {
        return Infinity;
      }
    });
    if (energyUj.some((e) => !Number.isFinite(e))) return undefined;
    return { domains, energyUj, maxUj };
  } catch {
    return undefined;
  }
}

/** CodeCarbon's arithmetic: emissions (kg) = energy (kWh) × PUE × grid intensity (g/kWh) / 1000. */
export function estimateEmissions(energyKWh: number, region?: string, pue = 1): { emissionsKg: number; gridIntensity: number; region: string; source: string } {
  if (typeof energyKWh !== 'number' || !(energyKWh >= 0)) throw new InvalidArgumentError(`estimateEmissions: energyKWh must be a number >= 0, got ${describe(energyKWh)}`);
  if (typeof pue !== 'number' || !(pue >= 1)) throw new InvalidArgumentError(`estimateEmissions: pue must be >= 1, got ${describe(pue)}`);
  const g = gridIntensity(region);
  return { emissionsKg: (energyKWh * pue * g.gPerKWh) / 1000, gridIntensity: g.gPerKWh, region: g.region, source: g.source };
}

/**
 * Runs `fn` and estimates its energy and emissions the CodeCarbon way: energy = power × time,
 * emissions = energy × grid intensity. Power comes from RAPL package counters when readable (they
 * measure the whole CPU package, not only this process); otherwise it is a fallback estimate,
 * TDP × this process's share of the CPUs (CPU time / (wall time × cores)), and the report says so.
 */
export async function measureEmissions<T>(fn: () => T | Promise<T>, options: CarbonOptions = {}): Promise<{ result: T; report: EmissionsReport }> {
  const tdpW = options.tdpW ?? DEFAULT_TDP_W;
  const pue = options.pue ?? 1;
  if (!(tdpW > 0)) throw new InvalidArgumentError(`measureEmissions: tdpW must be > 0, got ${describe(tdpW)}`);
  gridIntensity(options.region); // fail before running on an unknown region
  const raplBefore = readRapl(options.raplRoot);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const durationS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuTimeS = (cpu.user + cpu.system) / 1e6;
  const raplAfter = raplBefore ? readRapl(options.raplRoot) : undefined;
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  const hardware = `${cpus()[0]?.model?.trim() || 'unknown CPU'} × ${cores}`;
  let energyJ: number;
  let powerSource: EmissionsReport['powerSource'];
  let note: string;
  if (raplBefore && raplAfter && raplAfter.domains.join() === raplBefore.domains.join()) {
    energyJ = 0;
    raplBefore.energyUj.forEach((e0, k) => {
      let d = raplAfter.energyUj[k]! - e0;
      if (d < 0) d += raplBefore.maxUj[k]!; // the counter wrapped
      energyJ += d / 1e6;
    });
    powerSource = 'rapl';
    note = `measured with RAPL (${raplBefore.domains.join(', ')}): whole CPU package energy, other processes included`;
  } else {
    const share = durationS > 0 ? Math.min(1, cpuTimeS / (durationS * cores)) : 0;
    energyJ = tdpW * share * durationS;
    powerSource = 'tdp-fallback';
    note = `FALLBACK ESTIMATE: RAPL is not readable here, so power = ${tdpW} W TDP × CPU share ${share.toFixed(3)} (CPU time / (wall time × ${cores} cores)); RAM and GPU are not counted`;
  }
  const energyKWh = energyJ / 3.6e6;
  const e = estimateEmissions(energyKWh, options.region, pue);
  return {
    result,
    report: {
      durationS, cpuTimeS, powerW: durationS > 0 ? energyJ / durationS : 0, powerSource, fallback: powerSource !== 'rapl',
      ...(powerSource === 'tdp-fallback' ? { tdpW } : {}), pue, energyKWh, region: e.region, gridIntensity: e.gridIntensity,
      gridSource: e.source, emissionsKg: e.emissionsKg, hardware, note,
    },
  };
}
