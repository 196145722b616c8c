import { fairnessSummary, type GroupMetricInput } from './fairness/group-metrics.js';
import { representationAudit, type RepresentationOptions } from './fairness/representation.js';
import { membershipReport } from './membership/roc.js';
import { rdpEpsilon } from './privacy/rdp.js';
import { verifyManifest } from './provenance/manifest.js';
import { ApprovalGate, type ApprovalDecision } from './report/approval.js';
import { AuditLog } from './report/audit-log.js';
import { detectWatermark, type DetectOptions } from './watermark/detect.js';

export type Severity = 'info' | 'low' | 'medium' | 'high';

export interface Finding {
  check: string;
  severity: Severity;
  message: string;
  value?: number;
  details?: unknown;
}

/** An entry of the `audits` registry: a named check that turns plain inputs into findings. */
export interface AuditEntry<I = never> {
  name: string;
  summary: string;
  run(input: I): Promise<Finding[]> | Finding[];
}

const fairness: AuditEntry<GroupMetricInput & { maxDifference?: number }> = {
  name: 'fairness',
  summary: 'demographic parity and equalized odds by group (fairlearn conventions)',
  run(input) {
    const s = fairnessSummary(input);
    const limit = input.maxDifference ?? 0.1;
    const sev = (d: number): Severity => (d > 2 * limit ? 'high' : d > limit ? 'medium' : 'info');
    return [
      { check: 'demographic_parity_difference', severity: sev(s.demographic_parity_difference), value: s.demographic_parity_difference, message: `selection rates differ by ${s.demographic_parity_difference.toFixed(3)} between groups (limit ${limit})`, details: s.by_group },
      { check: 'equalized_odds_difference', severity: sev(s.equalized_odds_difference), value: s.equalized_odds_difference, message: `TPR/FPR differ by up to ${s.equalized_odds_difference.toFixed(3)} between groups (limit ${limit})` },
    ];
  },
};

/** Input of the `representation` audit: attribute labels (class indices) of generated samples. */
export type RepresentationAuditInput = RepresentationOptions & {
  labels: ArrayLike<number>;
  /** Total variation from the reference above this is a finding when it is also significant (default 0.1). */
  maxTotalVariation?: number;
  /** What the samples are, for the message (default "samples"). */
  label?: string;
};

const representation: AuditEntry<RepresentationAuditInput> = {
  name: 'representation',
  summary: 'attribute distribution of generated samples against a reference (χ², total variation, min/max ratio)',
  run(i) {
    const r = representationAudit(i.labels, i);
    const limit = i.maxTotalVariation ?? 0.1;
    const tv = r.totalVariation;
    // A finding needs both a real deviation (χ² at 1 %) and a large one (TV above the limit); 'high'
    // when even the interval's lower end is twice the limit.
    const sev: Severity = r.chiSquare.pValue >= 0.01 || tv.value <= limit ? 'info' : tv.low > 2 * limit ? 'high' : 'medium';
    const worst = [...r.byClass].filter((c) => c.reference > 0).sort((a, b) => a.ratio - b.ratio)[0]!;
    return [{
      check: 'representation', severity: sev, value: tv.value,
      message: `${r.n} ${i.label ?? 'samples'}: total variation ${tv.value.toFixed(3)} [${tv.low.toFixed(3)}, ${tv.high.toFixed(3)}] from the reference (sampling noise alone ≈ ${tv.expectedUnderReference.toFixed(3)}; limit ${limit}), χ² p = ${r.chiSquare.pValue.toExponential(2)}, min/max ratio ${r.minMaxRatio.toFixed(3)}; least represented: ${worst.class} (${(100 * worst.share).toFixed(1)}% vs ${(100 * worst.reference).toFixed(1)}%)`,
      details: r,
    }];
  },
};

const dpEpsilon: AuditEntry<{ sampleRate: number; noiseMultiplier: number; steps: number; delta: number; maxEpsilon?: number }> = {
  name: 'dp-epsilon',
  summary: 'ε of DP-SGD from the RDP accountant',
  run(i) {
    const r = rdpEpsilon(i.sampleRate, i.noiseMultiplier, i.steps, i.delta);
    const max = i.maxEpsilon ?? 10;
    return [{ check: 'dp-epsilon', severity: r.epsilon > max ? 'high' : 'info', value: r.epsilon, message: `(ε = ${r.epsilon.toFixed(3)}, δ = ${i.delta})-DP at α = ${r.bestAlpha}`, details: r }];
  },
};

const membership: AuditEntry<{ memberScores: number[]; nonMemberScores: number[] }> = {
  name: 'membership-inference',
  summary: 'AUC and TPR at low FPR of a membership score',
  run(i) {
    const r = membershipReport(i.memberScores, i.nonMemberScores);
    const sev: Severity = r.tpr_at_0_1pct_fpr > 0.05 || r.auc > 0.7 ? 'high' : r.auc > 0.6 ? 'medium' : 'info';
    return [{ check: 'membership-inference', severity: sev, value: r.auc, message: `AUC ${r.auc.toFixed(3)}, TPR ${r.tpr_at_0_1pct_fpr.toFixed(3)} at 0.1% FPR`, details: r }];
  },
};

const watermark: AuditEntry<{ tokens: number[] } & DetectOptions> = {
  name: 'watermark',
  summary: 'green-list watermark z-test',
  run(i) {
    const r = detectWatermark(i.tokens, i);
    return [{ check: 'watermark', severity: 'info', value: r.z, message: r.detected ? `watermark detected (z = ${r.z.toFixed(2)})` : `no watermark (z = ${r.z.toFixed(2)})`, details: r }];
  },
};

const provenance: AuditEntry<{ manifest: unknown; files?: Record<string, Uint8Array | string>; trustedKeys?: string[] }> = {
  name: 'provenance',
  summary: 'signature and asset hashes of a provenance manifest',
  async run(i) {
    const r = await verifyManifest(i.manifest, i);
    return [{ check: 'provenance', severity: r.valid ? 'info' : 'high', message: r.valid ? `manifest valid, signed by ${r.signer}` : r.problems.join('; '), details: r }];
  },
};

const auditLog: AuditEntry<{ jsonl: string }> = {
  name: 'audit-log',
  summary: 'hash chain of an audit log',
  run(i) {
    const r = AuditLog.verify(i.jsonl);
    return [{ check: 'audit-log', severity: r.valid ? 'info' : 'high', message: r.valid ? `${r.entries} entries, chain intact` : `line ${r.firstBadLine}: ${r.problem}`, details: r }];
  },
};

const approval: AuditEntry<{ report: unknown; decisions: ApprovalDecision[]; approvers: Record<string, string>; required?: number }> = {
  name: 'approval',
  summary: 'signed human approval of the audit report (blocks release until approved)',
  run(i) {
    const gate = new ApprovalGate({ approvers: i.approvers, required: i.required });
    const refused = i.decisions.map((d) => gate.submit(i.report, d)).filter((c) => !c.valid).flatMap((c) => c.problems);
    const s = gate.status(i.report);
    const msg = s.state === 'approved' ? `approved by ${s.approvedBy.join(', ')}` : s.state === 'rejected' ? `rejected by ${s.rejectedBy.join(', ')}` : `${s.approvedBy.length} of ${s.required} approvals`;
    return [{ check: 'approval', severity: s.state === 'approved' ? 'info' : 'high', message: `${msg}${refused.length ? `; refused: ${refused.join('; ')}` : ''}`, details: s }];
  },
};

/** The checks this package registers in the `audits` registry. */
export const AUDITS: readonly AuditEntry<any>[] = [fairness, representation, dpEpsilon, membership, watermark, provenance, auditLog, approval]; // eslint-disable-line @typescript-eslint/no-explicit-any
