/** GET /api/stats, /api/health, /api/openapi.json and /metrics. */
import { Router } from 'express';
import type { ApiContext } from '../context.js';
import type { GateStats } from '../limits.js';
import type { Gauge } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import { widthQuality } from '../width-quality.js';
import { statsJson } from '../../src/wire-json.js';

const gate = (g: GateStats) => ({
  concurrency: g.concurrency,
  max_queue: g.maxQueue,
  active: g.active,
  waiting: g.waiting,
  rejected: g.rejected,
});

function gauges(ctx: ApiContext): Gauge[] {
  const { store, index } = ctx.library;
  const s = { images: store.imageCount(), index: { kind: index.kind, size: index.size } };
  const queues = [ctx.gates.search.stats(), ctx.gates.write.stats()];
  const latest = ctx.jobs.list()[0];
  const job = (f: (j: NonNullable<typeof latest>) => number) => [{ value: latest ? f(latest) : 0 }];
  return [
    { name: 'matsearch_images', help: 'Images in the library.', samples: [{ value: s.images }] },
    {
      name: 'matsearch_index_size',
      help: 'Vectors in the search index.',
      samples: [{ labels: { kind: s.index.kind }, value: s.index.size }],
    },
    {
      name: 'matsearch_queue_active',
      help: 'Requests holding a slot, by queue.',
      samples: queues.map((q) => ({ labels: { queue: q.name }, value: q.active })),
    },
    {
      name: 'matsearch_queue_waiting',
      help: 'Requests waiting for a slot, by queue.',
      samples: queues.map((q) => ({ labels: { queue: q.name }, value: q.waiting })),
    },
    {
      name: 'matsearch_queue_rejected_total',
      help: 'Requests refused with 503 because the queue was full.',
      type: 'counter',
      samples: queues.map((q) => ({ labels: { queue: q.name }, value: q.rejected })),
    },
    {
      name: 'matsearch_ingest_running',
      help: '1 while a background ingest is queued or running.',
      samples: [{ value: ctx.jobs.active ? 1 : 0 }],
    },
    {
      name: 'matsearch_ingest_files',
      help: 'Files found by the latest ingest job.',
      samples: job((j) => j.total),
    },
    {
      name: 'matsearch_ingest_files_done',
      help: 'Files the latest ingest job has handled.',
      samples: job((j) => j.done),
    },
    {
      name: 'matsearch_ingest_embedded',
      help: 'Images the latest ingest job has embedded.',
      samples: job((j) => j.embedded),
    },
    {
      name: 'matsearch_ingest_errors',
      help: 'Files the latest ingest job could not read.',
      samples: job((j) => j.errors),
    },
  ];
}

export function systemRoutes(ctx: ApiContext): Router {
  const r = Router();
  const doc = openApiDocument();
  // Read once: the figures of a bench run for the served weights (or none).
  const quality = widthQuality(ctx.library.embedder.modelId);

  r.get('/api/stats', (_req, res) => {
    const s = ctx.library.stats();
    res.json({
      ...statsJson(s),
      queues: { search: gate(ctx.gates.search.stats()), write: gate(ctx.gates.write.stats()) },
      active_job: ctx.jobs.active?.id ?? null,
      refine: ctx.refiner?.status() ?? null,
      encode_ms: Object.fromEntries(
        [...ctx.library.searcher.latencies()].map(([w, ms]) => [w, +ms.toFixed(3)]),
      ),
      width_quality: quality
        ? {
            source: quality.source,
            set: quality.set,
            queries: quality.queries,
            map_at_10: quality.mapAt10,
            recall_at_10: quality.recallAt10,
            measured: quality.measured,
            quick: quality.quick,
          }
        : null,
      uptime_s: (Date.now() - ctx.startedAt) / 1000,
    });
  });

  r.get('/api/health', (_req, res) => {
    const { library } = ctx;
    const images = library.store.imageCount(); // throws (503) once the library is closed
    res.json({
      status: 'ok',
      model_id: library.embedder.modelId,
      images,
      index: { kind: library.index.kind, size: library.index.size },
    });
  });

  r.get('/api/openapi.json', (_req, res) => {
    res.json(doc);
  });

  r.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render(gauges(ctx)));
  });

  return r;
}
