/**
 * `matsearch model pull`: downloads an official checkpoint from the Hugging Face hub, on this
 * explicit request only, and imports it (src/hub/pull.ts).
 */
import { ValidationError } from '../errors.js';
import { pullModel } from '../hub/pull.js';
import { Progress } from '../util/progress.js';
import type { Command } from './main.js';
import { modelOutDir } from './model-import.js';

/** Megabytes to 0.1, rounded down (a bar reads full only when the file is whole) or up. */
const mb = (bytes: number, round = Math.floor) => round(bytes / 1e5) / 10;
const size = (bytes: number) =>
  bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
/** Files smaller than this get no progress bar. */
const BAR_BYTES = 64_000;

export const modelPullCommand: Command = {
  summary: 'download an official checkpoint from the Hugging Face hub and import it',
  usage:
    'HUB_ID [--revision R] [--out DIR | --name N]\n\n' +
    '  HUB_ID         e.g. scaledfoundations/MatMamba-Vision-35M-ImageNet\n' +
    '  --revision R   branch, tag or commit (default main); pinned to the commit it resolves to\n' +
    '  --out DIR      write the model folder (config.json + model.safetensors) here\n' +
    "  --name N       or to models/N (default: the repository's name)\n\n" +
    'Fetches config.json and pytorch_model.bin from https://huggingface.co (MATSEARCH_HUB_ENDPOINT\n' +
    "overrides it), checks each against the hub's checksum, then imports them like `matsearch\n" +
    'model import`. An interrupted download resumes when the same command runs again.',
  options: {
    revision: { type: 'string', short: 'r' },
    out: { type: 'string', short: 'o' },
    name: { type: 'string', short: 'n' },
  },
  async run(values, positionals) {
    const [repo, ...extra] = positionals;
    if (!repo)
      throw new ValidationError(
        'give the hub id: matsearch model pull scaledfoundations/MatMamba-Vision-35M-ImageNet',
      );
    if (extra.length > 0) throw new ValidationError(`one HUB_ID only; also got ${extra.join(' ')}`);
    const out = values['out'] as string | undefined;
    const name =
      (values['name'] as string | undefined) ?? (out ? undefined : repo.split('/').pop());
    const dest = modelOutDir(out, name);
    const revision = values['revision'] as string | undefined;
    let bar: Progress | null = null;
    const started = Date.now();
    const r = await pullModel({
      repo,
      out: dest,
      ...(name !== undefined ? { name } : {}),
      ...(revision !== undefined ? { revision } : {}),
      onFile(file, meta) {
        bar?.done();
        bar = null;
        const bytes = meta.size !== null ? ` (${size(meta.size)})` : '';
        process.stderr.write(`fetching ${file}${bytes} from ${meta.url}\n`);
      },
      onProgress(file, done, total, from) {
        if (total !== null && total < BAR_BYTES) return;
        const whole = total ?? Infinity;
        bar ??= new Progress(mb(whole, Math.ceil), 'MB', process.stderr, 10_000, mb(from));
        const shown = done >= whole ? mb(whole, Math.ceil) : mb(done);
        bar.update(shown, mb(done - from), 'MB', file);
      },
    });
    (bar as Progress | null)?.done();
    console.log(
      `pulled ${repo} at ${r.commit?.slice(0, 12) ?? revision ?? 'main'} and imported it to ` +
        `${r.outDir} as ${r.modelId} in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `use it with --model ${r.outDir}`,
    );
  },
};
