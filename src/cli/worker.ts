/**
 * `matsearch worker --queue redis://...`: one machine's share of a scale-out ingest. It embeds
 * the jobs `matsearch ingest --queue` puts on the queue with this machine's encoder and returns
 * the vectors; it never opens a library. Ctrl-C (or SIGTERM) stops it gracefully: no new job,
 * running ones finished (a second signal, or --grace-ms, puts them back on the queue instead).
 */
import type { Command } from './main.js';
import { openEmbedder, resolveModelDir } from '../embed/open.js';
import { ValidationError } from '../errors.js';
import { resolveAddress, safeUrl } from '../../queue/connection.js';
import type { QueueWorker } from '../../queue/worker.js';

function int(v: unknown, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new ValidationError(`--${name} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

export const workerCommand: Command = {
  summary: 'embed queued ingest jobs from Redis (scale-out ingest; see docs/SCALING.md)',
  usage:
    '--queue redis://HOST:PORT [--queue-name NAME] [--model DIR] [--concurrency 8] [--batch 32] [--lock-ms 30000] [--grace-ms 30000] [--id NAME]',
  options: {
    queue: { type: 'string' },
    'queue-name': { type: 'string' },
    model: { type: 'string', short: 'm' },
    concurrency: { type: 'string', short: 'c' },
    batch: { type: 'string' },
    'lock-ms': { type: 'string' },
    'grace-ms': { type: 'string' },
    id: { type: 'string' },
  },
  async run(v) {
    const url = v['queue'] as string | undefined;
    if (!url) throw new ValidationError('give the queue: --queue redis://HOST:PORT');
    const name = v['queue-name'] as string | undefined;
    const address = { url, ...(name ? { name } : {}) };
    resolveAddress(address); // a bad URL fails before the model loads
    const concurrency = int(v['concurrency'], 'concurrency', 1);
    const batch = int(v['batch'], 'batch', 1);
    const lockMs = int(v['lock-ms'], 'lock-ms', 1000);
    const graceMs = int(v['grace-ms'], 'grace-ms', 0);
    const id = v['id'] as string | undefined;
    if (id !== undefined && !/^[\w./@-]+$/.test(id))
      throw new ValidationError(`--id is letters, digits and . / @ - _, got '${id}'`);
    const log = (m: string) => console.error(m);

    // Signals are ours from the start: one arriving before the worker runs stops it at once.
    let w: QueueWorker | undefined;
    let signals = 0;
    const onSignal = (sig: string) => {
      if (signals++ === 0 && w) {
        log(`${sig}: finishing ${w.active} running job(s); again to put them back on the queue`);
        void w.stop();
      } else void w?.release();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const embedder = await openEmbedder(resolveModelDir(v['model'] as string | undefined)).catch(
      (err: unknown) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        throw err;
      },
    );
    try {
      // Export and load the full-width encoder now, not inside the first job's lock.
      const S = embedder.inputSize;
      await embedder.embed([new Float32Array(S * S * embedder.inputChannels)], 1);
      if (signals > 0) return;
      const { QueueWorker } = await import('../../queue/worker.js');
      w = await QueueWorker.start(embedder, {
        ...address,
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(batch !== undefined ? { batch } : {}),
        ...(lockMs !== undefined ? { lockMs } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
        ...(id ? { id } : {}),
        log,
      });
      log(
        `worker ${w.id} ready: queue ${resolveAddress(address).name} at ${safeUrl(url)}, ` +
          `model ${embedder.modelId}, concurrency ${concurrency ?? 8}`,
      );
      if (signals > 0) void w.stop();
      const worker = w;
      const t0 = performance.now();
      const report = () => {
        const s = worker.stats;
        const rate = s.done / Math.max((performance.now() - t0) / 1000, 1e-3);
        log(
          `worker ${worker.id}: ${s.done} done (${rate.toFixed(1)} images/s), ${s.failed} failed tries, ` +
            `${s.released} released, ${s.batches} encoder batches`,
        );
      };
      const ticker = setInterval(report, 30_000);
      ticker.unref();
      try {
        await worker.closed;
      } finally {
        clearInterval(ticker);
      }
      report();
      if (worker.fatal) throw worker.fatal;
    } finally {
      await embedder.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
