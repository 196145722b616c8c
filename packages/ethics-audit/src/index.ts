/**
 * @nutshell/ethics-audit (depends on @nutshell/core and @nutshell/nn): fairness by group and
 * counterfactual bias probes, DP-SGD for nn models with RDP/PRV accounting, membership inference
 * (loss, LiRA), canary exposure, PII scanning, the green-list text watermark, signed provenance
 * manifests, carbon estimates, model cards, datasheets, a hash-chained audit log and audit reports.
 */
export type { Label } from './fairness/labels.js';
export * from './fairness/metrics.js';
export * from './fairness/metric-frame.js';
export * from './fairness/group-metrics.js';
export * from './fairness/aif360.js';
export * from './fairness/reweighing.js';
export * from './fairness/bootstrap.js';
export * from './fairness/counterfactual.js';
export * from './fairness/cda-terms.js';
export * from './fairness/cda.js';
export * from './fairness/representation.js';
export * from './fairness/attribute-classifier.js';

export * from './privacy/rdp.js';
export * from './privacy/prv.js';
export * from './privacy/dp-sgd.js';
export * from './privacy/poisson.js';
export * from './privacy/per-sample.js';
export * from './privacy/ghost-clipping.js';
export { traceLayers, type LayerCall } from './privacy/layer-trace.js';
export { GRAD_SAMPLERS, layerCover, type CoveredLayer } from './privacy/grad-samplers/registry.js';
export type { GradSampler } from './privacy/grad-samplers/types.js';
export { unfoldNHWC, convOutputSize, type UnfoldGeometry } from './privacy/grad-samplers/unfold.js';
export * from './privacy/make-private.js';
export * from './privacy/pii.js';
export { erfc, logErfc, normalCdf } from './privacy/special.js';

export * from './membership/roc.js';
export * from './membership/attacks.js';
export * from './membership/shadow.js';
export * from './membership/membership-audit.js';
export * from './membership/exposure.js';
export { suffixArray } from './membership/suffix-array.js';
export * from './membership/verbatim.js';

export * from './watermark/green-list.js';
export * from './watermark/detect.js';
export * from './image-watermark/image.js';
export { dct8x8, idct8x8 } from './image-watermark/dct8.js';
export * from './image-watermark/jpeg-like.js';
export * from './image-watermark/attacks.js';
export * from './image-watermark/spread-spectrum.js';
export * from './image-watermark/robustness.js';
export * from './stats/distributions.js';

export * from './provenance/canonical.js';
export * from './provenance/keys.js';
export * from './provenance/manifest.js';

export * from './carbon/grid-intensity.js';
export * from './carbon/carbon.js';

export * from './report/model-card.js';
export * from './report/audit-log.js';
export * from './report/audit-report.js';
export * from './report/datasheet.js';
export * from './report/approval.js';
export { suiteFromConfig } from './cli/report-config.js';
export { parseCsv } from './cli/csv.js';
export { auditCommand } from './cli/command.js';
export { AUDITS, type AuditEntry, type Finding, type RepresentationAuditInput, type Severity } from './audits.js';
