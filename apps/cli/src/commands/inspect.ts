import { chooseFormat } from '../formats/choose.js';
import type { JsonValue } from '../formats/json-values.js';
import { readInputFile } from '../read-input.js';
import type { CliCommandSpec } from '../state.js';
import { formatTable } from '../table.js';
import { withContext } from '../usage-error.js';

/** The shape every tensor-file format is encouraged to return (safetensors returns exactly this). */
interface TensorSummary {
  format: string;
  metadata?: Record<string, unknown> | null;
  tensors: Record<string, { dtype: string; shape: number[]; values?: JsonValue[] }>;
}

export function inspectCommand(): CliCommandSpec {
  return {
    summary: 'show the tensors (dtype, shape, optionally values) and metadata of a model file (.safetensors, or formats plugins add)',
    description:
      'With --json prints {"format":"safetensors","metadata":{...}|null,"tensors":{name:{"dtype","shape"[,"values"]}}};\n' +
      'values are flat arrays, with NaN and infinities written as the strings "NaN", "Infinity", "-Infinity".\n' +
      'Other formats come from the "formats" registry: the first whose sniff() recognizes the bytes, else the\n' +
      'one claiming the file extension, else safetensors.',
    args: [{ name: 'file', description: 'path to a .safetensors file (or another registered format)', required: true }],
    options: [{ name: 'values', type: 'boolean', description: "include each tensor's values as a flat array", default: false }],
    needsBackend: false,
    async run({ args, options, kit, print }) {
      const file = args[0]!;
      const bytes = await readInputFile(file, 'a model file such as .safetensors');
      const format = chooseFormat(kit, file, bytes);
      let result: unknown;
      try {
        result = await format.inspect(bytes, { values: options.values === true });
      } catch (err) {
        throw withContext(err, file);
      }
      if (!isTensorSummary(result)) {
        print(JSON.stringify(result, null, 2));
        return result;
      }
      const names = Object.keys(result.tensors);
      print(`${file}: ${result.format}, ${names.length} tensor${names.length === 1 ? '' : 's'}`);
      if (result.metadata) print(`metadata: ${JSON.stringify(result.metadata)}`);
      if (names.length) {
        const rows = names.map((n) => {
          const t = result.tensors[n]!;
          const row: string[] = [n, t.dtype, `[${t.shape.join(', ')}]`];
          if (t.values) row.push(preview(t.values));
          return row;
        });
        formatTable(['name', 'dtype', 'shape', ...(options.values ? ['values'] : [])], rows).forEach((l) => print(l));
      }
      return result;
    },
  };
}

function isTensorSummary(value: unknown): value is TensorSummary {
  const v = value as TensorSummary | null;
  return !!v && typeof v === 'object' && typeof v.format === 'string' && !!v.tensors && typeof v.tensors === 'object'
    && Object.values(v.tensors).every((t) => !!t && typeof t.dtype === 'string' && Array.isArray(t.shape));
}

function preview(values: JsonValue[]): string {
  const head = values.slice(0, 6).map((v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v)).join(', ');
  return `[${head}${values.length > 6 ? `, … (${values.length})` : ''}]`;
}
