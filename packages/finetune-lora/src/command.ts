import { InvalidArgumentError, type CommandSpec } from '@nutshell/core';

/**
 * `nutshell finetune merge --adapter DIR --model DIR|FILE --out DIR`: merges a PEFT LoRA adapter
 * into a safetensors checkpoint by tensor name (no model code needed) and writes
 * OUT/model.safetensors (copying config.json and tokenizer files when the model is a directory).
 */
export const finetuneCommand: CommandSpec = {
  summary: 'LoRA tools: merge a PEFT adapter into safetensors weights',
  description: 'finetune merge --adapter ADAPTER_DIR --model MODEL_DIR_OR_FILE --out OUT_DIR',
  args: [{ name: 'action', description: "'merge'", required: true }],
  options: [
    { name: 'adapter', type: 'string', description: 'PEFT adapter directory (adapter_config.json + adapter_model.safetensors)' },
    { name: 'model', type: 'string', description: 'model directory with model.safetensors, or a .safetensors file' },
    { name: 'out', type: 'string', description: 'output directory' },
  ],
  needsBackend: true,
  async run(input) {
    const action = input.args[0];
    if (action !== 'merge') {
      throw new InvalidArgumentError(`finetune: unknown action ${JSON.stringify(action ?? '')}; available: merge (training needs a model loader from @nutshell/transformer, not there yet)`);
    }
    const { adapter, model, out } = input.options as Record<string, string | undefined>;
    if (!adapter || !model || !out) throw new InvalidArgumentError('finetune merge: --adapter, --model and --out are required');
    const [{ mergeAdapterDirectory }] = await Promise.all([import('./merge-files.js')]);
    const result = await mergeAdapterDirectory({ adapterDir: adapter, model, outDir: out });
    input.print(`merged ${result.merged.length} weights (${result.replaced.length} replaced) into ${result.outFile}`);
    return result;
  },
};
