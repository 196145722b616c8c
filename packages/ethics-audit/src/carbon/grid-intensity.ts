import { InvalidArgumentError, describe } from '@nutshell/core';

/**
 * Carbon intensity of electricity by country, g CO₂e per kWh (ISO 3166-1 alpha-3 codes).
 * Source: CodeCarbon's codecarbon/data/private_infra/global_energy_mix.json ("carbon_intensity",
 * year 2021, compiled by CodeCarbon from Our World in Data / Ember), a subset of the larger grids.
 */
export const GRID_INTENSITY: Readonly<Record<string, { name: string; gPerKWh: number }>> = Object.freeze({
  ARE: { name: 'United Arab Emirates', gPerKWh: 461.845 },
  ARG: { name: 'Argentina', gPerKWh: 357.786 },
  AUS: { name: 'Australia', gPerKWh: 531.247 },
  AUT: { name: 'Austria', gPerKWh: 147.573 },
  BEL: { name: 'Belgium', gPerKWh: 156.922 },
  BGR: { name: 'Bulgaria', gPerKWh: 354.334 },
  BRA: { name: 'Brazil', gPerKWh: 158.592 },
  CAN: { name: 'Canada', gPerKWh: 128.461 },
  CHE: { name: 'Switzerland', gPerKWh: 47.101 },
  CHL: { name: 'Chile', gPerKWh: 416.881 },
  CHN: { name: 'China', gPerKWh: 544.355 },
  COL: { name: 'Colombia', gPerKWh: 181.065 },
  CZE: { name: 'Czechia', gPerKWh: 405.589 },
  DEU: { name: 'Germany', gPerKWh: 365.477 },
  DNK: { name: 'Denmark', gPerKWh: 221.416 },
  EGY: { name: 'Egypt', gPerKWh: 464.425 },
  ESP: { name: 'Spain', gPerKWh: 193.863 },
  FIN: { name: 'Finland', gPerKWh: 145.541 },
  FRA: { name: 'France', gPerKWh: 67.39 },
  GBR: { name: 'United Kingdom', gPerKWh: 268.329 },
  GRC: { name: 'Greece', gPerKWh: 353.339 },
  HKG: { name: 'Hong Kong', gPerKWh: 683.972 },
  HUN: { name: 'Hungary', gPerKWh: 233.037 },
  IDN: { name: 'Indonesia', gPerKWh: 623.157 },
  IND: { name: 'India', gPerKWh: 637.182 },
  IRL: { name: 'Ireland', gPerKWh: 363.608 },
  ISL: { name: 'Iceland', gPerKWh: 28.557 },
  ISR: { name: 'Israel', gPerKWh: 548.03 },
  ITA: { name: 'Italy', gPerKWh: 340.794 },
  JPN: { name: 'Japan', gPerKWh: 478.545 },
  KEN: { name: 'Kenya', gPerKWh: 86.221 },
  KOR: { name: 'South Korea', gPerKWh: 458.081 },
  MEX: { name: 'Mexico', gPerKWh: 399.852 },
  MYS: { name: 'Malaysia', gPerKWh: 548.611 },
  NGA: { name: 'Nigeria', gPerKWh: 376.987 },
  NLD: { name: 'Netherlands', gPerKWh: 388.702 },
  NOR: { name: 'Norway', gPerKWh: 27.55 },
  NZL: { name: 'New Zealand', gPerKWh: 132.427 },
  PAK: { name: 'Pakistan', gPerKWh: 366.052 },
  PHL: { name: 'Philippines', gPerKWh: 580.908 },
  POL: { name: 'Poland', gPerKWh: 660.122 },
  PRT: { name: 'Portugal', gPerKWh: 219.053 },
  ROU: { name: 'Romania', gPerKWh: 255.877 },
  RUS: { name: 'Russia', gPerKWh: 359.937 },
  SAU: { name: 'Saudi Arabia', gPerKWh: 571.336 },
  SGP: { name: 'Singapore', gPerKWh: 487.937 },
  SWE: { name: 'Sweden', gPerKWh: 45.817 },
  THA: { name: 'Thailand', gPerKWh: 506.635 },
  TUR: { name: 'Turkey', gPerKWh: 430.401 },
  TWN: { name: 'Taiwan', gPerKWh: 573.275 },
  UKR: { name: 'Ukraine', gPerKWh: 240.175 },
  USA: { name: 'United States', gPerKWh: 379.26 },
  VNM: { name: 'Vietnam', gPerKWh: 448.217 },
  ZAF: { name: 'South Africa', gPerKWh: 715.681 },
});

/** CodeCarbon's world-average default when the region is unknown, g CO₂e/kWh. */
export const WORLD_AVERAGE_INTENSITY = 475;

export const GRID_SOURCE = 'CodeCarbon global_energy_mix.json (2021; Our World in Data / Ember)';

/** Intensity for an ISO alpha-3 code (case-insensitive), or the world average for "WORLD"/undefined. */
export function gridIntensity(region?: string): { region: string; gPerKWh: number; source: string } {
  if (region === undefined || region.toUpperCase() === 'WORLD') return { region: 'WORLD', gPerKWh: WORLD_AVERAGE_INTENSITY, source: 'CodeCarbon world average' };
  const code = String(region).toUpperCase();
  const row = GRID_INTENSITY[code];
  if (!row) throw new InvalidArgumentError(`gridIntensity: no grid intensity for ${describe(region)}; use an ISO 3166 alpha-3 code (${Object.keys(GRID_INTENSITY).join(', ')}) or "WORLD"`);
  return { region: code, gPerKWh: row.gPerKWh, source: GRID_SOURCE };
}
