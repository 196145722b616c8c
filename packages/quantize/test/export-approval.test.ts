import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKit, definePlugin, FormatError, InvalidArgumentError, NutshellError, PluginError, saveSafetensors, tensor, tf, type Kit } from '@nutshell/core';
import { exportCommand } from '@nutshell/quantize';

// A stand-in for @nutshell/ethics-audit's `approval` audit: approved when every decision says so.
const fakeApproval = definePlugin({
  name: 'fake-approval',
  version: '1.0.0',
  register(ctx) {
    ctx.add('audits', 'approval', {
      name: 'approval',
      summary: 'test double',
      run: (i: { decisions: { decision: string; approver: string }[] }) => {
        const ok = i.decisions.length > 0 && i.decisions.every((d) => d.decision === 'approve');
        return [{ check: 'approval', severity: ok ? 'info' : 'high', message: ok ? 'approved' : 'rejected', details: { approvedBy: ok ? i.decisions.map((d) => d.approver) : [] } }];
      },
    });
  },
});

function tinyGpt2(dir: string): Uint8Array {
  const E = 8, P = 4, V = 10;
  const t = (shape: number[]) => tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.1), shape);
  const ts: Record<string, ReturnType<typeof t>> = { 'wte.weight': t([V, E]), 'wpe.weight': t([P, E]), 'ln_f.weight': t([E]), 'ln_f.bias': t([E]) };
  const h = 'h.0.';
  Object.assign(ts, {
    [`${h}ln_1.weight`]: t([E]), [`${h}ln_1.bias`]: t([E]), [`${h}ln_2.weight`]: t([E]), [`${h}ln_2.bias`]: t([E]),
    [`${h}attn.c_attn.weight`]: t([E, 3 * E]), [`${h}attn.c_attn.bias`]: t([3 * E]), [`${h}attn.c_proj.weight`]: t([E, E]), [`${h}attn.c_proj.bias`]: t([E]),
    [`${h}mlp.c_fc.weight`]: t([E, 4 * E]), [`${h}mlp.c_fc.bias`]: t([4 * E]), [`${h}mlp.c_proj.weight`]: t([4 * E, E]), [`${h}mlp.c_proj.bias`]: t([E]),
  });
  const bytes = saveSafetensors(ts);
  tf.dispose(Object.values(ts));
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 1, n_head: 2, n_embd: E, n_positions: P, vocab_size: V, layer_norm_epsilon: 1e-5 }));
  return bytes;
}

const exportWith = (kit: Kit, options: Record<string, unknown>) =>
  Promise.resolve(exportCommand.run({ args: [], options: { format: 'gguf', quant: 'f32', ...options } as never, json: true, kit, print: () => {} }));

describe('export --require-approval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nq-approval-'));
  const sha = createHash('sha256').update(tinyGpt2(dir)).digest('hex');
  const approvalFile = (modelSha: string, decision: string) => {
    const f = join(dir, `approval-${decision}-${modelSha.slice(0, 6)}.json`);
    writeFileSync(f, JSON.stringify({ report: { model_sha256: modelSha, findings: [] }, decisions: [{ approver: 'ada', decision }], approvers: { ada: 'key' } }));
    return f;
  };

  it('exports when the approved report names this model, and says who approved', async () => {
    const kit = await createKit({ backend: false, plugins: [fakeApproval] });
    const out = join(dir, 'ok.gguf');
    const r = (await exportWith(kit, { model: dir, out, 'require-approval': approvalFile(sha, 'approve') })) as { approval: { approvedBy: string[]; modelSha256: string } };
    expect(r.approval).toEqual({ approvedBy: ['ada'], modelSha256: sha });
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('GGUF');
  });

  it('refuses, writing nothing, when rejected, for another model, without the audit, or with a malformed file', async () => {
    const kit = await createKit({ backend: false, plugins: [fakeApproval] });
    const out = join(dir, 'blocked.gguf');
    await expect(exportWith(kit, { model: dir, out, 'require-approval': approvalFile(sha, 'reject') })).rejects.toThrow(NutshellError);
    await expect(exportWith(kit, { model: dir, out, 'require-approval': approvalFile(sha, 'reject') })).rejects.toThrow(/export blocked: rejected/);
    await expect(exportWith(kit, { model: dir, out, 'require-approval': approvalFile('0'.repeat(64), 'approve') })).rejects.toThrow(InvalidArgumentError);
    const bare = await createKit({ backend: false, plugins: [] });
    await expect(exportWith(bare, { model: dir, out, 'require-approval': approvalFile(sha, 'approve') })).rejects.toThrow(PluginError);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"report": 1');
    await expect(exportWith(kit, { model: dir, out, 'require-approval': bad })).rejects.toThrow(FormatError);
    expect(existsSync(out)).toBe(false);
  });
});
