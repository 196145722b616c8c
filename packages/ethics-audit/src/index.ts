/**
 * @nutshell/ethics-audit: audits that need only @nutshell/core — fairness by group, differential
 * privacy accounting and the DP-SGD noise step, membership-inference evaluation, the green-list text
 * watermark, signed provenance manifests, carbon estimates, model cards and a hash-chained audit log.
 */
export type { Label } from './fairness/labels.js';
export * from './fairness/metrics.js';
export * from './fairness/metric-frame.js';
export * from './fairness/group-metrics.js';
export * from './fairness/aif360.js';
export * from './fairness/reweighing.js';
export * from './fairness/bootstrap.js';

export * from './privacy/rdp.js';
export * from './privacy/prv.js';
export * from './privacy/dp-sgd.js';
export * from './privacy/poisson.js';
export { erfc, logErfc, normalCdf } from './privacy/special.js';

export * from './membership/roc.js';
export * from './membership/attacks.js';

export * from './watermark/green-list.js';
export * from './watermark/detect.js';

export * from './provenance/canonical.js';
export * from './provenance/keys.js';
export * from './provenance/manifest.js';

export * from './carbon/grid-intensity.js';
export * from './carbon/carbon.js';

export * from './report/model-card.js';
export * from './report/audit-log.js';
export { parseCsv } from './cli/csv.js';
export { auditCommand } from './cli/command.js';
export { AUDITS, type AuditEntry } from './audits.js';
