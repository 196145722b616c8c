import { InvalidArgumentError } from '@nutshell/core';
import { AUDITS, ApprovalGate, ApprovalRequiredError, AuditLog, audit, generateSigningKey, reportHash, signApproval, verifyApproval } from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const alice = generateSigningKey(), bob = generateSigningKey(), mallory = generateSigningKey();
const approvers = { alice: alice.publicKey, bob: bob.publicKey };

async function makeReport() {
  return audit('demo-model', { fairness: { yTrue: [1, 0, 1, 0], yPred: [1, 0, 0, 0], sensitiveFeatures: ['a', 'a', 'b', 'b'] }, carbon: { energyKWh: 0.01 } });
}

describe('human-approval gate', () => {
  it('blocks the release until a named approver signs, then releases and logs every step', async () => {
    const report = await makeReport();
    const log = new AuditLog();
    const gate = new ApprovalGate({ approvers, log });
    const hash = gate.request(report, { requestedBy: 'ci' });
    expect(hash).toBe(reportHash(JSON.parse(JSON.stringify(report))));
    let exported = 0;
    await expect(gate.release(report, () => { exported++; })).rejects.toBeInstanceOf(ApprovalRequiredError);
    expect(exported).toBe(0);
    const d = signApproval(report, { approver: 'alice', key: alice, decision: 'approve', comment: 'fairness gap accepted for the pilot' });
    expect(gate.submit(report, d)).toEqual({ valid: true, problems: [] });
    expect(gate.status(report)).toMatchObject({ state: 'approved', approvedBy: ['alice'] });
    expect(await gate.release(report, () => { exported++; return 'ok'; }, { actor: 'ci' })).toBe('ok');
    expect(exported).toBe(1);
    expect(log.entries.map((e) => e.event)).toEqual(['approval-requested', 'release-blocked', 'approval-granted', 'released']);
    expect(log.verify().valid).toBe(true);
    expect((log.entries[2]!.data as { decision: { signature: string } }).decision.signature).toBe(d.signature);
    expect(log.entries[2]!.actor).toBe('alice');
  });

  it('a rejection blocks even with approvals; required counts distinct approvers', async () => {
    const report = await makeReport();
    const gate = new ApprovalGate({ approvers, required: 2 });
    gate.submit(report, signApproval(report, { approver: 'alice', key: alice, decision: 'approve' }));
    gate.submit(report, signApproval(report, { approver: 'alice', key: alice, decision: 'approve' }));
    expect(gate.status(report).state).toBe('pending');
    gate.submit(report, signApproval(report, { approver: 'bob', key: bob, decision: 'reject', comment: 'ε too high' }));
    expect(gate.status(report)).toMatchObject({ state: 'rejected', rejectedBy: ['bob'] });
    expect(() => gate.assertApproved(report)).toThrow(/rejected by bob/);
    // Bob changes his mind with a new signed decision.
    gate.submit(report, signApproval(report, { approver: 'bob', key: bob, decision: 'approve' }));
    expect(gate.assertApproved(report).approvedBy.sort()).toEqual(['alice', 'bob']);
  });

  it('a tampered report, a tampered decision, an impostor or an unknown approver does not count', async () => {
    const report = await makeReport();
    const log = new AuditLog();
    const gate = new ApprovalGate({ approvers, log });
    const good = signApproval(report, { approver: 'alice', key: alice, decision: 'approve' });
    // The report changes after signing (one finding's severity edited).
    const tampered = structuredClone(report);
    tampered.findings[0]!.severity = 'info';
    tampered.severity = 'info';
    const c1 = gate.submit(tampered, good);
    expect(c1.valid).toBe(false);
    expect(c1.problems.join()).toMatch(/different report/);
    expect(() => gate.assertApproved(tampered)).toThrow(ApprovalRequiredError);
    // The decision is edited (reject → approve, or another comment).
    const rejected = signApproval(report, { approver: 'bob', key: bob, decision: 'reject' });
    expect(verifyApproval({ ...rejected, decision: 'approve' }, { approvers, report }).problems.join()).toMatch(/signature/);
    expect(verifyApproval({ ...good, comment: 'x' }, { approvers, report }).valid).toBe(false);
    expect(verifyApproval({ ...good, time: new Date(0).toISOString() }, { approvers, report }).valid).toBe(false);
    // Mallory signs as alice, or as herself.
    expect(verifyApproval(signApproval(report, { approver: 'alice', key: mallory, decision: 'approve' }), { approvers, report }).problems.join()).toMatch(/does not belong/);
    expect(verifyApproval(signApproval(report, { approver: 'mallory', key: mallory, decision: 'approve' }), { approvers, report }).problems.join()).toMatch(/not an approver/);
    expect(verifyApproval({ ...good, publicKey: mallory.publicKey, approver: 'alice' }, { approvers: { alice: mallory.publicKey }, report }).valid).toBe(false);
    expect(verifyApproval({ nope: 1 }, { approvers }).valid).toBe(false);
    expect(gate.status(report).state).toBe('pending');
    expect(log.entries.map((e) => e.event)).toEqual(['approval-refused', 'release-blocked']);
    // Key order of the report does not matter; the hash is over canonical JSON.
    const reordered = Object.fromEntries(Object.entries(report).reverse());
    expect(gate.submit(reordered, good).valid).toBe(true);
    expect(gate.status(report).state).toBe('approved');
  });

  it('the approval audit entry turns decisions into a finding; bad options are typed errors', async () => {
    const report = await makeReport();
    const entry = AUDITS.find((a) => a.name === 'approval')!;
    const none = await entry.run({ report, decisions: [], approvers } as never);
    expect(none[0]).toMatchObject({ check: 'approval', severity: 'high' });
    const ok = await entry.run({ report, decisions: [signApproval(report, { approver: 'bob', key: bob, decision: 'approve' })], approvers } as never);
    expect(ok[0]).toMatchObject({ severity: 'info', message: 'approved by bob' });
    expect(() => new ApprovalGate({ approvers: {} })).toThrow(InvalidArgumentError);
    expect(() => new ApprovalGate({ approvers, required: 3 })).toThrow(InvalidArgumentError);
    expect(() => signApproval(report, { approver: '', key: alice, decision: 'approve' })).toThrow(InvalidArgumentError);
    expect(() => signApproval(report, { approver: 'alice', key: alice, decision: 'maybe' as never })).toThrow(InvalidArgumentError);
    expect(() => signApproval(report, { approver: 'alice', key: { ...alice, privateKey: 'x' }, decision: 'approve' })).toThrow(InvalidArgumentError);
  });
});
