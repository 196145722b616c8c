import { InvalidArgumentError, NutshellError, describe } from '@nutshell/core';
import { canonicalJson } from '../provenance/canonical.js';
import { sha256Hex, signBytes, verifyBytes, type SigningKey } from '../provenance/keys.js';
import type { AuditLog } from './audit-log.js';

/**
 * Human-approval gate: a release (export, publication) is blocked until enough named approvers have
 * signed an "approve" decision over the SHA-256 of the exact audit report, with their Ed25519 keys
 * (the provenance signing). A rejection by any approver blocks it; a changed report changes the hash,
 * so earlier signatures no longer count. Every request, decision and refused decision goes to the
 * hash-chained audit log.
 */

export const APPROVAL_FORMAT = 'nutshell-approval/1';

export interface ApprovalDecision {
  format: typeof APPROVAL_FORMAT;
  /** SHA-256 (hex) of the canonical JSON of the report decided on. */
  reportHash: string;
  decision: 'approve' | 'reject';
  approver: string;
  /** base64url raw Ed25519 public key of the approver. */
  publicKey: string;
  time: string;
  comment?: string;
  /** Ed25519 signature (base64url) of the canonical JSON of every other member. */
  signature: string;
}

/** Raised when a release is attempted without the required approvals. */
export class ApprovalRequiredError extends NutshellError {
  constructor(message: string, readonly status: ApprovalStatus) {
    super('E_APPROVAL_REQUIRED', message);
  }
}

/** SHA-256 of the report's canonical JSON (key order and whitespace do not matter; any value change does). */
export function reportHash(report: unknown): string {
  if (report === undefined) throw new InvalidArgumentError('reportHash: expected a report');
  return sha256Hex(canonicalJson(report));
}

const unsigned = (d: Omit<ApprovalDecision, 'signature'> & { signature?: string }) =>
  new TextEncoder().encode(canonicalJson({ format: d.format, reportHash: d.reportHash, decision: d.decision, approver: d.approver, publicKey: d.publicKey, time: d.time, comment: d.comment }));

/** An approver signs a decision about a report (or a report hash). */
export function signApproval(report: unknown, options: { approver: string; key: SigningKey; decision: 'approve' | 'reject'; comment?: string; time?: Date }): ApprovalDecision {
  const { approver, key, decision } = options ?? ({} as never);
  if (typeof approver !== 'string' || !approver.trim()) throw new InvalidArgumentError(`signApproval: approver must be a non-empty name, got ${describe(approver)}`);
  if (decision !== 'approve' && decision !== 'reject') throw new InvalidArgumentError(`signApproval: decision must be 'approve' or 'reject', got ${describe(decision)}`);
  const hash = typeof report === 'string' && /^[0-9a-f]{64}$/.test(report) ? report : reportHash(report);
  const d = { format: APPROVAL_FORMAT, reportHash: hash, decision, approver, publicKey: key?.publicKey, time: (options.time ?? new Date()).toISOString(), ...(options.comment !== undefined ? { comment: String(options.comment) } : {}) } as Omit<ApprovalDecision, 'signature'>;
  return { ...d, signature: signBytes(unsigned(d), key) };
}

export interface DecisionCheck {
  valid: boolean;
  problems: string[];
}

/** Checks a decision's signature, its approver's key against the trusted list, and (when given) the report it covers. */
export function verifyApproval(decision: unknown, options: { approvers: Record<string, string>; report?: unknown }): DecisionCheck {
  const problems: string[] = [];
  const d = decision as ApprovalDecision;
  if (!d || typeof d !== 'object' || d.format !== APPROVAL_FORMAT) return { valid: false, problems: [`not a ${APPROVAL_FORMAT} decision: ${describe(decision)}`] };
  if (d.decision !== 'approve' && d.decision !== 'reject') problems.push(`unknown decision ${describe(d.decision)}`);
  const trusted = options.approvers[d.approver];
  if (!trusted) problems.push(`${describe(d.approver)} is not an approver`);
  else if (trusted !== d.publicKey) problems.push(`the key does not belong to approver ${d.approver}`);
  let sigOk = false;
  try {
    sigOk = typeof d.signature === 'string' && verifyBytes(unsigned(d), d.signature, d.publicKey);
  } catch {
    sigOk = false;
  }
  if (!sigOk) problems.push('signature does not verify (the decision was altered or signed with another key)');
  if (options.report !== undefined && reportHash(options.report) !== d.reportHash) problems.push('the decision is about a different report (hash mismatch: the report changed after signing)');
  return { valid: problems.length === 0, problems };
}

export interface ApprovalStatus {
  state: 'pending' | 'approved' | 'rejected';
  reportHash: string;
  approvedBy: string[];
  rejectedBy: string[];
  required: number;
}

export interface ApprovalGateOptions {
  /** Named approvers and their base64url Ed25519 public keys. */
  approvers: Record<string, string>;
  /** Distinct approvals needed (default 1). */
  required?: number;
  /** Where requests and decisions are recorded. */
  log?: AuditLog;
}

/** The gate in front of a release; see the file comment. */
export class ApprovalGate {
  private readonly approvers: Record<string, string>;
  private readonly required: number;
  private readonly log?: AuditLog;
  private readonly decisions = new Map<string, Map<string, ApprovalDecision>>();

  constructor(options: ApprovalGateOptions) {
    if (!options || !options.approvers || typeof options.approvers !== 'object' || Object.keys(options.approvers).length === 0) throw new InvalidArgumentError(`ApprovalGate: approvers must name at least one approver and key, got ${describe(options?.approvers)}`);
    this.approvers = { ...options.approvers };
    this.required = options.required ?? 1;
    if (!Number.isInteger(this.required) || this.required < 1 || this.required > Object.keys(this.approvers).length) throw new InvalidArgumentError(`ApprovalGate: required must be an integer in 1…${Object.keys(this.approvers).length}, got ${describe(options.required)}`);
    this.log = options.log;
  }

  /** Records that a report awaits approval; returns its hash. */
  request(report: unknown, options: { requestedBy?: string } = {}): string {
    const hash = reportHash(report);
    this.log?.append('approval-requested', { reportHash: hash, approvers: Object.keys(this.approvers), required: this.required }, { actor: options.requestedBy });
    return hash;
  }

  /** Accepts a signed decision about this report; an invalid one is refused (and logged), not counted. */
  submit(report: unknown, decision: ApprovalDecision): DecisionCheck {
    const check = verifyApproval(decision, { approvers: this.approvers, report });
    const hash = reportHash(report);
    if (!check.valid) {
      this.log?.append('approval-refused', { reportHash: hash, approver: (decision as ApprovalDecision)?.approver, problems: check.problems });
      return check;
    }
    let byApprover = this.decisions.get(hash);
    if (!byApprover) this.decisions.set(hash, (byApprover = new Map()));
    byApprover.set(decision.approver, decision);
    this.log?.append(decision.decision === 'approve' ? 'approval-granted' : 'approval-rejected', { reportHash: hash, decision }, { actor: decision.approver });
    return check;
  }

  status(report: unknown): ApprovalStatus {
    const hash = reportHash(report);
    const ds = [...(this.decisions.get(hash)?.values() ?? [])];
    const approvedBy = ds.filter((d) => d.decision === 'approve').map((d) => d.approver);
    const rejectedBy = ds.filter((d) => d.decision === 'reject').map((d) => d.approver);
    const state = rejectedBy.length ? 'rejected' : approvedBy.length >= this.required ? 'approved' : 'pending';
    return { state, reportHash: hash, approvedBy, rejectedBy, required: this.required };
  }

  /** Throws ApprovalRequiredError unless the report is approved. */
  assertApproved(report: unknown): ApprovalStatus {
    const s = this.status(report);
    if (s.state !== 'approved') {
      this.log?.append('release-blocked', { reportHash: s.reportHash, state: s.state, approvedBy: s.approvedBy, rejectedBy: s.rejectedBy });
      throw new ApprovalRequiredError(s.state === 'rejected' ? `release blocked: rejected by ${s.rejectedBy.join(', ')}` : `release blocked: ${s.approvedBy.length} of ${s.required} required approvals for report ${s.reportHash.slice(0, 12)}…`, s);
    }
    return s;
  }

  /** Runs the release step only when approved, and logs it. */
  async release<T>(report: unknown, step: () => T | Promise<T>, options: { actor?: string } = {}): Promise<T> {
    const s = this.assertApproved(report);
    const out = await step();
    this.log?.append('released', { reportHash: s.reportHash, approvedBy: s.approvedBy }, { actor: options.actor });
    return out;
  }
}
