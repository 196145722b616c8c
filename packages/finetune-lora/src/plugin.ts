import { definePlugin } from '@nutshell/core';
import { finetuneCommand } from './command.js';
import { PACKAGE_VERSION } from './version.js';

/** Adds the `finetune` command (merge a PEFT adapter into safetensors weights) to the CLI. */
export default definePlugin({
  name: '@nutshell/finetune-lora',
  version: PACKAGE_VERSION,
  description: 'LoRA / DoRA / QLoRA fine-tuning with PEFT-compatible adapters',
  register(ctx) {
    ctx.add('commands', 'finetune', finetuneCommand);
  },
});
