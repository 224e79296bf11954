/**
 * `matsearch demo` (what `npm start` runs): ingests the sample emoji and photos in `samples/` into a
 * library under `.cache/demo/` (incrementally: a second start only checks the files), then serves
 * the web UI and the REST API on 127.0.0.1 until Ctrl-C.
 *
 * It uses the default model (models/general-tiny). Without it (a checkout that lost it) it falls
 * back to an untrained stand-in of the same shape, written once to `.cache/demo/untrained-model`, and
 * says loudly that the rankings mean nothing.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './main.js';
import { Library } from '../library.js';
import { DEFAULT_MODEL_DIR, openEmbedder, resolveModelDir } from '../embed/open.js';
import { writeUntrainedModel } from '../embed/untrained.js';
import { ValidationError } from '../errors.js';
import { CONFIG_FILE } from '../model/weights.js';
import { serveUntilSignal, startServer, type RunningServer } from '../../web/server.js';
import type { ServerOptions } from '../../web/server.js';
import type { IngestProgress } from '../../ingest/pipeline.js';

/** The repository root (dist/src/cli/ is three levels down). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_PORT = 8080;

const say = (m: string) => console.error(`matsearch demo: ${m}`);
const shown = (p: string) => {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
};

/** The model to serve: --model, MATSEARCH_MODEL, the default, or the untrained stand-in. */
async function demoModel(given: string | undefined, dataDir: string): Promise<string> {
  if (given || process.env['MATSEARCH_MODEL'] || existsSync(join(DEFAULT_MODEL_DIR, CONFIG_FILE)))
    return resolveModelDir(given);
  const dir = await writeUntrainedModel(join(dataDir, 'untrained-model'));
  say(
    [
      'WARNING: the default model (models/general-tiny) is missing, so the demo runs an',
      `  UNTRAINED, randomly initialised tiny model (${shown(dir)}). Everything works, but the`,
      '  rankings are meaningless until the trained model ships.',
    ].join('\n'),
  );
  return dir;
}

function progress(): ((p: IngestProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 100 && p.done < p.total) return;
    last = now;
    process.stderr.write(`\rmatsearch demo: ingesting samples ${p.done}/${p.total}`);
    if (p.done >= p.total) process.stderr.write('\n');
  };
}

/** Listens on `port`; if the default port is taken, on any free one. */
async function listen(lib: Library, o: ServerOptions, fallback: boolean): Promise<RunningServer> {
  try {
    return await startServer(lib, o);
  } catch (err) {
    if (!fallback || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
    say(`port ${o.port} is taken; using a free one`);
    return startServer(lib, { ...o, port: 0 });
  }
}

export const demoCommand: Command = {
  summary: 'ingest the sample emoji and photos and serve the web UI (what `npm start` runs)',
  usage: '[--port 8080] [--host 127.0.0.1] [--library DIR] [--samples DIR] [--model DIR]',
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    library: { type: 'string', short: 'l' },
    samples: { type: 'string' },
    model: { type: 'string', short: 'm' },
  },
  async run(v) {
    const portArg = v['port'] as string | undefined;
    const port = portArg === undefined ? DEFAULT_PORT : Number(portArg);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ValidationError(`--port must be a whole number from 0 to 65535, got '${portArg}'`);
    const host = (v['host'] as string | undefined) ?? '127.0.0.1';
    const dataDir = join(ROOT, '.cache', 'demo');
    const libDir = resolve((v['library'] as string | undefined) ?? join(dataDir, 'library'));
    const samples = resolve((v['samples'] as string | undefined) ?? join(ROOT, 'samples'));
    if (!existsSync(samples))
      throw new ValidationError(`no sample images at ${samples}; pass --samples DIR`);

    const embedder = await openEmbedder(await demoModel(v['model'] as string | undefined, dataDir));
    const lib = Library.open(libDir, {
      embedder,
      index: { thread: 'worker' }, // searches off the event loop
      log: (m) => say(m),
    });
    try {
      const onProgress = progress();
      const s = await lib.ingest([samples], { ...(onProgress ? { onProgress } : {}) });
      const news =
        s.added + s.embedded > 0 ? `${s.added} added, ${s.embedded} embedded` : 'unchanged';
      say(
        `library ${shown(libDir)}: ${lib.store.imageCount()} images (${news}) from ${shown(samples)}, model ${embedder.modelId}`,
      );
      const srv = await listen(
        lib,
        { host, port, roots: [samples], log: (m) => say(m) },
        portArg === undefined,
      );
      console.log(`\n  matsearch is running at ${srv.url}/\n`);
      say('open that address in a browser; Ctrl-C stops the server');
      const credits = join(samples, 'ATTRIBUTION.md');
      if (existsSync(credits)) say(`the sample images are credited in ${shown(credits)}`);
      await serveUntilSignal(srv, say);
    } finally {
      lib.close();
      await embedder.close();
    }
  },
};
