#!/usr/bin/env node
// Prints the cross-backend parity table: every available backend against tfjs 'cpu'.
//   pnpm parity                                   # all of wasm, native, webgpu
//   node tools/parity/run.mjs --backends wasm --filter conv --json
// Exits 1 when a check is out of tolerance (unavailable backends only print their reason).
import { parseArgs } from 'node:util';
import { formatParityTable, PARITY_BACKENDS, runParity } from './dist/index.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: Object.keys(PARITY_BACKENDS).join(',') },
    filter: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: run.mjs [--backends wasm,native,webgpu] [--filter <substring of op name>] [--json]');
  process.exit(0);
}

const backends = values.backends.split(',').map((s) => s.trim()).filter(Boolean);
const table = await runParity(backends, { filter: values.filter });
console.log(values.json ? JSON.stringify(table, null, 2) : formatParityTable(table));
process.exitCode = table.rows.every((r) => r.ok) ? 0 : 1;
