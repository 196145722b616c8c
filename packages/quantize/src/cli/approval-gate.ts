import { FormatError, InvalidArgumentError, NutshellError, PluginError, type Kit } from '@nutshell/core';

/**
 * Release gate for `nutshell export --require-approval FILE`. The file holds a signed human approval
 * of an audit report (`{ report, decisions, approvers, required? }`, the input of the `approval`
 * audit that @nutshell/ethics-audit registers). The export goes ahead only when the report names the
 * model being exported (`report.model_sha256` = SHA-256 of its model.safetensors) and the approval
 * audit finds it approved. The audit is looked up in the kit, so quantize does not import the
 * ethics package: without it installed, the gate refuses rather than passes.
 */
export async function requireApproval(file: string, modelBytes: Uint8Array, kit: Kit): Promise<{ approvedBy: string[]; modelSha256: string }> {
  const fs = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  let input: { report?: { model_sha256?: unknown }; decisions?: unknown; approvers?: unknown; required?: unknown };
  try {
    input = JSON.parse(await fs.readFile(file, 'utf8')) as typeof input;
  } catch (e) {
    throw new FormatError('approval', `--require-approval ${file}: expected a JSON file { report, decisions, approvers }, ${(e as Error).message}`);
  }
  if (!input || typeof input !== 'object' || !input.report || !Array.isArray(input.decisions) || !input.approvers || typeof input.approvers !== 'object') {
    throw new FormatError('approval', `--require-approval ${file}: expected { report, decisions: [...], approvers: {name: publicKey} }`);
  }
  const modelSha256 = createHash('sha256').update(modelBytes).digest('hex');
  if (input.report.model_sha256 !== modelSha256) {
    throw new InvalidArgumentError(`--require-approval: the approved report is for model_sha256 ${JSON.stringify(input.report.model_sha256)}, but model.safetensors has SHA-256 ${modelSha256}`);
  }
  if (!kit.registries?.audits?.has('approval')) {
    throw new PluginError('--require-approval needs the `approval` audit; install @nutshell/ethics-audit');
  }
  const audit = kit.get('audits', 'approval') as { run(i: unknown): Promise<Finding[]> | Finding[] };
  const [finding] = await audit.run(input);
  if (!finding || finding.severity !== 'info') {
    throw new NutshellError('E_APPROVAL_REQUIRED', `export blocked: ${finding?.message ?? 'no approval finding'}`);
  }
  const approvedBy = ((finding.details as { approvedBy?: string[] } | undefined)?.approvedBy ?? []).slice();
  return { approvedBy, modelSha256 };
}

interface Finding {
  severity: string;
  message: string;
  details?: unknown;
}
