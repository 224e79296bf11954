/** `matsearch model import`: a PyTorch MatMamba2Vision checkpoint becomes a matsearch model folder. */
import { join } from 'node:path';
import type { Command } from './main.js';
import { ValidationError } from '../errors.js';
import { importCheckpoint } from '../model/import-checkpoint.js';

/** A name for models/N: one path segment, nothing that climbs out of models/. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The model folder for `--out DIR` or `--name N` (models/N), the name checked first. */
export function modelOutDir(out: string | undefined, name: string | undefined): string {
  if (name !== undefined && !NAME.test(name))
    throw new ValidationError(
      `--name '${name}': use letters, digits, '.', '_' and '-' (a folder name under models/)`,
    );
  return out ?? join('models', name!);
}

export const modelImportCommand: Command = {
  summary: 'convert a PyTorch MatMamba-Vision checkpoint (e.g. the official ImageNet ones)',
  usage:
    'SRC (--out DIR | --name N) [--config FILE]\n\n' +
    '  SRC           a folder in the Hugging Face hub layout (config.json + pytorch_model.bin),\n' +
    '                or a bare checkpoint file together with --config\n' +
    '  --out DIR     write the model folder (config.json + model.safetensors) here\n' +
    '  --name N      or to models/N (relative to the current folder); N is also its name\n' +
    "  --config FILE the official config.json (default: SRC's own)",
  options: {
    out: { type: 'string', short: 'o' },
    name: { type: 'string', short: 'n' },
    config: { type: 'string', short: 'c' },
  },
  async run(values, positionals) {
    const [src, ...extra] = positionals;
    if (!src)
      throw new ValidationError('give the checkpoint: matsearch model import SRC --out DIR');
    if (extra.length > 0) throw new ValidationError(`one SRC only; also got ${extra.join(' ')}`);
    const out = values['out'] as string | undefined;
    const name = values['name'] as string | undefined;
    if (out === undefined && name === undefined)
      throw new ValidationError('say where the model goes: --out DIR or --name N (models/N)');
    const dest = modelOutDir(out, name);
    const config = values['config'] as string | undefined;
    const started = Date.now();
    const tty = process.stderr.isTTY;
    let lastPct = -1;
    const r = await importCheckpoint({
      src,
      out: dest,
      ...(name !== undefined ? { name } : {}),
      ...(config !== undefined ? { config } : {}),
      onProgress(done, total) {
        const pct = Math.floor((100 * done) / total);
        if (pct === lastPct || !tty) return;
        lastPct = pct;
        process.stderr.write(`\rimporting ${pct}% (${mb(done)} of ${mb(total)} MB)`);
      },
    });
    if (tty) process.stderr.write('\n');
    console.log(
      `imported ${src} to ${r.outDir} as ${r.modelId} in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `use it with --model ${r.outDir}`,
    );
  },
};

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
