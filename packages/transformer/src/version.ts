import { createRequire } from 'node:module';

/** This package's version, read from its package.json so the two never disagree. */
export const PACKAGE_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
