/**
 * The live state of a queue, across all its workers (`matsearch stats --queue redis://...`):
 * jobs per state and the workers connected now.
 */
import { loadBullmq, resolveAddress, safeUrl, whenReady, type QueueAddress } from './connection.js';

export interface QueueStatus {
  readonly name: string;
  readonly url: string;
  readonly waiting: number;
  readonly active: number;
  /** Waiting for a retry (back-off). */
  readonly delayed: number;
  /** Results not yet taken by the writer. */
  readonly completed: number;
  /** Failed for good, not yet taken into the library's dead-letter list. */
  readonly failed: number;
  /** Names of the connected workers (host/pid unless --id said otherwise). */
  readonly workers: string[];
}

export async function queueStatus(a: QueueAddress): Promise<QueueStatus> {
  const { name, connection } = resolveAddress(a);
  const mq = await loadBullmq();
  const queue = new mq.Queue(name, { connection });
  queue.on('error', () => {}); // whenReady reports an unreachable server
  try {
    await whenReady(queue, a.url);
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    // A named worker's connection is called 'bull:<queue>:w:<name>'.
    const names = (await queue.getWorkers()).map((w) => {
      const raw = String(w['rawname'] ?? '');
      return raw.includes(':w:') ? raw.slice(raw.indexOf(':w:') + 3) : String(w['addr'] ?? '?');
    });
    const workers = [...new Set(names)];
    return {
      name,
      url: safeUrl(a.url),
      waiting: c['waiting'] ?? 0,
      active: c['active'] ?? 0,
      delayed: c['delayed'] ?? 0,
      completed: c['completed'] ?? 0,
      failed: c['failed'] ?? 0,
      workers: workers.sort(),
    };
  } finally {
    await queue.close();
  }
}
