/**
 * Worker thread body: owns onnxruntime sessions (one per encoder and width, created on the first
 * run that brings the model bytes) and runs images through them off the main event loop.
 */
import { parentPort } from 'node:worker_threads';
import { MatsearchError, ValidationError } from '../errors.js';
import { createSession, preloadOrt, runImages, type OrtSession } from './onnx.js';
import { READY_ID, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

const sessions = new Map<string, Promise<OrtSession>>();

async function session(
  req: Extract<WorkerRequest, { kind: 'run' } | { kind: 'load' }>,
): Promise<OrtSession> {
  let s = sessions.get(req.key);
  if (!s) {
    if (!req.bytes) throw new ValidationError(`worker has no session '${req.key}' and no model`);
    s = createSession(req.bytes, req.provider);
    sessions.set(req.key, s);
    s.catch(() => sessions.delete(req.key)); // a failed load may be retried
  }
  return s;
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  if (req.kind === 'stats') return { id: req.id, ok: true, sessions: sessions.size };
  if (req.kind === 'drop') {
    for (const [key, s] of [...sessions]) {
      if (!(key === req.key || (req.keyPrefix !== undefined && key.startsWith(req.keyPrefix))))
        continue;
      sessions.delete(key);
      await (await s.catch(() => null))?.release();
    }
    return { id: req.id, ok: true };
  }
  const s = await session(req);
  if (req.kind === 'load') return { id: req.id, ok: true };
  const out = await runImages(s, req.images, req.batch, req.shape, req.microBatch);
  return { id: req.id, ok: true, ...out, images: req.images };
}

const port = parentPort;
if (!port) throw new Error('ort-worker.js must run as a worker thread');
// Every worker runs sessions: load the binding while the first model is on its way, then say so.
void preloadOrt().then(() => port.postMessage({ id: READY_ID, ok: true } satisfies WorkerReply));
// Requests are handled one at a time, in order: a session is loaded before the runs that use it.
let queue = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      reply = await handle(req);
    } catch (err) {
      const code = err instanceof MatsearchError ? err.code : 'E_BACKEND';
      reply = { id: req.id, ok: false, message: (err as Error).message, code };
    }
    const transfer = reply.ok
      ? [
          reply.features?.buffer,
          reply.embeddings?.buffer,
          reply.logits?.buffer,
          reply.images?.buffer,
        ].filter((b) => b !== undefined)
      : [];
    port.postMessage(reply, transfer as ArrayBuffer[]);
  });
});
