#!/usr/bin/env node
import { runCli } from './main.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Some backends keep handles open (worker pools, GPU devices); do not let them hold the process.
setTimeout(() => process.exit(code), 200).unref();
