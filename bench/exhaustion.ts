/**
 * `npm run bench -- exhaustion <part> [n]`: what an anonymous client can make the server spend,
 * measured one part at a time (each prints one JSON line; nothing is asserted):
 *
 *   widths [n]   RSS while searching at n distinct Mix'n'Match width specs (default 1000)
 *
 *   slow, memory  decode limits (bench/exhaustion-decode.ts)
 */
import { initBackend } from '../src/model/backend.js';
import { Encoder } from '../src/runtime/encoder.js';
import { machine } from './util.js';
import { memory, slow } from './exhaustion-decode.js';

const mb = () => Math.round(process.memoryUsage().rss / 1e6);

/** One 6-layer spec per i: a fraction per layer, the digits of i in base 8. */
function spec(i: number, layers: number): string {
  const f = ['1/8', '1/4', '3/8', '1/2', '5/8', '3/4', '7/8', '1'];
  const out: string[] = [];
  for (let l = 0; l < layers; l++, i = Math.floor(i / 8)) out.push(f[i % 8]!);
  return out.join(',');
}

async function widths(n: number, cacheBytes?: number) {
  await initBackend({ purpose: 'inference' });
  const enc = await Encoder.load('models/general-tiny', cacheBytes ? { cacheBytes } : {});
  const image = new Float32Array(64 * 64 * 3).fill(0.1);
  await enc.encode(image, 1);
  const rss: [number, number][] = [[0, mb()]];
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    await enc.encode(image, spec(i + 7, 6));
    if (i % Math.max(1, Math.floor(n / 10)) === 0) rss.push([i, mb()]);
  }
  const s = await enc.cacheStats();
  await enc.close();
  return {
    part: 'widths',
    specs: n,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    rssMb: rss,
    cache: { widths: s.widths, bytes: s.bytes, budget: s.budget, evicted: s.evicted },
    workerSessions: s.workerSessions,
  };
}

export async function benchExhaustion(args: string[]): Promise<void> {
  const [part = 'widths', n] = args;
  let out: unknown;
  if (part === 'widths') out = await widths(Number(n ?? 1000));
  else if (part === 'widths-unbounded') out = await widths(Number(n ?? 100), Number.MAX_VALUE);
  else if (part === 'slow') out = await slow();
  else if (part === 'memory') out = await memory();
  else throw new Error(`unknown part '${part}'`);
  console.log(JSON.stringify({ machine: machine(), ...(out as object) }));
}
