/**
 * `matsearch model import`: a PyTorch MatMamba2Vision checkpoint (the Hugging Face hub layout,
 * config.json + pytorch_model.bin, or a bare .bin/.pt with its config) becomes a matsearch model
 * folder (config.json + model.safetensors). The checkpoint is read by the safe unpickler
 * (torch-pickle.ts) and converted one tensor at a time, so memory holds one tensor beside the
 * process, whatever the model size. Imports no tfjs.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { NotFoundError, ShapeError, ValidationError, WeightsFormatError } from '../errors.js';
import { parseConfig, type MatMambaVisionConfig } from './config.js';
import { CONFIG_FILE, modelIdOf, WEIGHTS_FILE, writeModelConfig } from './model-dir.js';
import { numel, paramShapes } from './params.js';
import { OFFICIAL_EVAL_PREPROCESS } from './preprocess-spec.js';
import { STANDARD_WIDTHS } from './widths.js';
import { float32Bytes, safetensorsHeader } from './safetensors.js';
import { openTorchCheckpoint, type TorchCheckpoint } from './torch-checkpoint.js';
import type { TensorRef } from './torch-pickle.js';

export interface ImportOptions {
  /** A hub-layout folder (config.json + pytorch_model.bin) or a checkpoint file. */
  readonly src: string;
  /** The official config.json; needed for a bare checkpoint file. */
  readonly config?: string;
  /** Output model folder (created). */
  readonly out: string;
  /** The model's name (its id is `name@hash`); default: the output folder's name. */
  readonly name?: string;
  /** Called after each tensor with bytes written so far and in all. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The checkpoint file names a hub folder may hold, in the order they are looked for. */
const CHECKPOINT_NAMES = ['pytorch_model.bin', 'model.pt', 'model.pth'];

export async function importCheckpoint(
  opts: ImportOptions,
): Promise<{ outDir: string; modelId: string }> {
  const { ckptPath, configPath } = locate(opts);
  const config = readOfficialConfig(configPath);
  const ckpt = openTorchCheckpoint(ckptPath);
  try {
    const tensors = matchTensors(ckpt, config);
    const outDir = resolve(opts.out);
    const name = opts.name ?? basename(outDir);
    mkdirSync(outDir, { recursive: true });
    const sha = writeStreaming(join(outDir, WEIGHTS_FILE), ckpt, tensors, config, name, opts);
    const modelId = modelIdOf(name, sha);
    writeModelConfig(outDir, config, {
      name,
      modelId,
      // The official recipe trains the four nested widths jointly (MatMamba, Shukla et al. 2024).
      trainedWidths: STANDARD_WIDTHS,
      preprocess: OFFICIAL_EVAL_PREPROCESS,
      source: { checkpoint: basename(ckptPath), format: ckpt.format, sha256: sha },
    });
    return { outDir, modelId };
  } finally {
    ckpt.close();
  }
}

function locate(opts: ImportOptions): { ckptPath: string; configPath: string } {
  if (!existsSync(opts.src)) throw new NotFoundError(`no such file or folder: ${opts.src}`);
  if (statSync(opts.src).isDirectory()) {
    const found = CHECKPOINT_NAMES.map((n) => join(opts.src, n)).find((p) => existsSync(p));
    if (!found) {
      const st = join(opts.src, WEIGHTS_FILE);
      throw new NotFoundError(
        existsSync(st)
          ? `${opts.src} already holds ${WEIGHTS_FILE}: use it with --model, no import needed`
          : `${opts.src} holds none of ${CHECKPOINT_NAMES.join(', ')}`,
      );
    }
    const configPath = opts.config ?? join(opts.src, CONFIG_FILE);
    if (!existsSync(configPath))
      throw new NotFoundError(`no ${CONFIG_FILE} in ${opts.src}; pass the model's with --config`);
    return { ckptPath: found, configPath };
  }
  if (!opts.config)
    throw new ValidationError(
      `${opts.src} is a bare checkpoint: pass its config.json with --config FILE`,
    );
  if (!existsSync(opts.config)) throw new NotFoundError(`no such config file: ${opts.config}`);
  return { ckptPath: opts.src, configPath: opts.config };
}

function readOfficialConfig(path: string): MatMambaVisionConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new WeightsFormatError(`${path}: not valid JSON`, { cause: err });
  }
  try {
    return parseConfig(json);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Data-parallel training saves every name under `module.`; torch.compile under `_orig_mod.`. */
const WRAPPER_PREFIXES = ['module.', '_orig_mod.'];

/**
 * The checkpoint tensor behind each expected parameter, in the config's order. Every mismatch
 * (missing, unexpected, wrong shape) is collected and reported in one error.
 */
function matchTensors(ckpt: TorchCheckpoint, config: MatMambaVisionConfig): Map<string, string> {
  const byName = new Map<string, { key: string; t: TensorRef }>();
  for (const [key, t] of ckpt.tensors) {
    let name = key;
    for (let again = true; again;) {
      again = false;
      for (const p of WRAPPER_PREFIXES)
        if (name.startsWith(p)) {
          name = name.slice(p.length);
          again = true;
        }
    }
    byName.set(name, { key, t });
  }
  const expected = paramShapes(config);
  const missing: string[] = [];
  const wrong: string[] = [];
  const out = new Map<string, string>();
  for (const [name, shape] of expected) {
    const hit = byName.get(name);
    if (!hit) missing.push(`${name} [${shape}]`);
    else if (hit.t.shape.length !== shape.length || hit.t.shape.some((d, i) => d !== shape[i]))
      wrong.push(`${name}: [${hit.t.shape}] where the config expects [${shape}]`);
    else out.set(name, hit.key);
  }
  // A head of zero classes (n_classes 0) is an empty nn.Linear: nothing to keep.
  const emptyHead = (n: string) =>
    config.nClasses === 0 &&
    (n === 'head.weight' || n === 'head.bias') &&
    numel(byName.get(n)!.t.shape) === 0;
  const unexpected = [...byName.keys()].filter((n) => !expected.has(n) && !emptyHead(n));
  if (missing.length + wrong.length + unexpected.length > 0) {
    const parts = [
      missing.length ? `missing ${missing.length}: ${missing.join(', ')}` : '',
      wrong.length ? `wrong shape ${wrong.length}: ${wrong.join('; ')}` : '',
      unexpected.length ? `unexpected ${unexpected.length}: ${unexpected.join(', ')}` : '',
    ].filter(Boolean);
    throw new ShapeError(
      `${ckpt.path} does not match its config (d_model ${config.dModel}, ${config.nLayer} layers, ` +
        `${config.nClasses} classes): ${parts.join('. ')}`,
    );
  }
  return out;
}

/** Writes the safetensors file tensor by tensor (temp file renamed); returns its sha256. */
function writeStreaming(
  path: string,
  ckpt: TorchCheckpoint,
  tensors: ReadonlyMap<string, string>,
  config: MatMambaVisionConfig,
  name: string,
  opts: ImportOptions,
): string {
  const shapes = paramShapes(config);
  const total = [...shapes.values()].reduce((a, s) => a + numel(s) * 4, 0);
  const hash = createHash('sha256');
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const write = (bytes: Uint8Array) => {
    hash.update(bytes);
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
  };
  try {
    write(safetensorsHeader(shapes, { format: 'pt', name }));
    let done = 0;
    for (const key of tensors.values()) {
      const data = ckpt.read(key);
      write(float32Bytes(data));
      done += data.byteLength;
      opts.onProgress?.(done, total);
    }
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return hash.digest('hex');
}
