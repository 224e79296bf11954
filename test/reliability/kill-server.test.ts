/**
 * SIGKILL of the server while clients upload and delete, then a restart, three times over. After
 * each restart: every acknowledged upload is there whole (image, vector, original, thumbnail),
 * every acknowledged delete is gone, and a write that was in flight at the kill is either whole
 * or absent (no row without its vector, no saved file without its row); the shared checker then
 * finds the library intact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { Rng } from '../../src/util/rng.js';
import { setup } from '../helpers.js';
import { checkLibrary } from './check.js';
import { Child, reportFigures, script, testEmbedder } from './helpers.js';
import type { ServerChildOptions } from './server-child.js';

const KEY = 'kill-server-key';
const ROUNDS = 3;
let dir: string;
let modelDir: string;
let embedder: Embedder;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'kill-server-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
});

after(async () => {
  await Child.killAll();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** n distinct small images, PNG or JPEG. */
async function pool(n: number, seed: number): Promise<Buffer[]> {
  const rng = new Rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const px = Buffer.from(Array.from({ length: 24 * 24 * 3 }, () => rng.int(256)));
    const img = sharp(px, { raw: { width: 24, height: 24, channels: 3 } });
    out.push(await (i % 2 ? img.jpeg({ quality: 90 }) : img.png()).toBuffer());
  }
  return out;
}

type Outcome = 'acked' | 'refused' | 'unknown';

test(`the server killed with SIGKILL during uploads and deletes ${ROUNDS} times loses nothing acknowledged`, async () => {
  const lib = join(dir, 'lib');
  const uploads = join(lib, 'uploads');
  const images = await pool(160, 17);
  const opts: ServerChildOptions = { lib, model: modelDir, apiKey: KEY, embedDelayMs: 15 };
  /** What the clients know: content hash -> id for acknowledged uploads; deleted ids. */
  const present = new Map<string, number>();
  const deleted = new Set<number>();
  /** Writes in flight at a kill, to resolve after the restart. */
  let pendingUploads: string[] = [];
  let pendingDeletes: { id: number; hash: string }[] = [];
  const tally = { requests: 0, uploadsAcked: 0, deletesAcked: 0, refused: 0, unansweredAtKill: 0 };
  const resolved = { wholeAfterKill: 0, absentAfterKill: 0 };
  const logs: string[] = [];
  let next = 0;

  const server = async () => {
    const c = Child.start(script('server-child.js'), opts);
    const url = (await c.wait('listening'))['url'] as string;
    return { c, url };
  };

  /** Asserts what the restarted server and the files on disk say about each known write. */
  const verify = async (url: string) => {
    const get = (p: string) => fetch(url + p);
    const onDisk = new Set(existsSync(uploads) ? readdirSync(uploads) : []);
    const fileOf = (hash: string) => [...onDisk].find((f) => f.startsWith(hash.slice(0, 24)));
    const whole = async (id: number, hash: string, what: string) => {
      const r = await get(`/api/images/${id}`);
      assert.equal(r.status, 200, `${what}: image ${id} is gone`);
      const meta = (await r.json()) as { hash: string; vectors: unknown[] };
      assert.equal(meta.hash, hash, `${what}: image ${id} has other content`);
      assert.ok(meta.vectors.length > 0, `${what}: image ${id} has no vector`);
      const f = await get(`/api/images/${id}/file`);
      assert.equal(f.status, 200, `${what}: the original of ${id}`);
      assert.equal(sha(Buffer.from(await f.arrayBuffer())), hash, `${what}: original bytes`);
      assert.equal((await get(`/api/images/${id}/thumbnail`)).status, 200, `${what}: thumbnail`);
    };
    for (const [hash, id] of present) await whole(id, hash, 'acknowledged upload');
    for (const id of deleted) {
      assert.equal((await get(`/api/images/${id}`)).status, 404, `acknowledged delete ${id}`);
    }
    // In flight at the kill: whole or absent, never half.
    const byHash = async (hash: string): Promise<number | undefined> => {
      let cursor = '';
      for (;;) {
        const page = (await (await get(`/api/images?limit=200${cursor}`)).json()) as {
          images: { id: number }[];
          next_cursor: string | null;
        };
        for (const im of page.images) {
          const m = (await (await get(`/api/images/${im.id}`)).json()) as { hash: string };
          if (m.hash === hash) return im.id;
        }
        if (!page.next_cursor) return undefined;
        cursor = `&cursor=${page.next_cursor}`;
      }
    };
    for (const hash of pendingUploads) {
      const id = await byHash(hash);
      if (id === undefined) {
        assert.equal(fileOf(hash), undefined, `an unacknowledged upload left its file`);
        resolved.absentAfterKill++;
      } else {
        await whole(id, hash, 'unacknowledged upload');
        present.set(hash, id);
        resolved.wholeAfterKill++;
      }
    }
    for (const d of pendingDeletes) {
      const r = await get(`/api/images/${d.id}`);
      if (r.status === 404) {
        assert.equal(fileOf(d.hash), undefined, `an unacknowledged delete left the upload file`);
        deleted.add(d.id);
        resolved.absentAfterKill++;
      } else {
        await whole(d.id, d.hash, 'unacknowledged delete');
        present.set(d.hash, d.id);
        resolved.wholeAfterKill++;
      }
    }
    pendingUploads = [];
    pendingDeletes = [];
    // Every file in uploads/ belongs to an image.
    for (const f of onDisk) {
      assert.ok(!f.endsWith('.tmp'), `a temp upload was left: ${f}`);
      const owner = [...present.keys()].find((h) => f.startsWith(h.slice(0, 24)));
      assert.ok(owner, `uploads/${f} belongs to no image`);
    }
  };

  for (let round = 0; round < ROUNDS; round++) {
    const rng = new Rng(500 + round);
    const { c, url } = await server();
    await verify(url);
    const auth = { authorization: `Bearer ${KEY}` };
    let stop = false;
    const client = async () => {
      while (!stop) {
        const del = present.size > 3 && rng.uniform() < 0.35;
        tally.requests++;
        if (del) {
          const [hash, id] = [...present][rng.int(present.size)]!;
          present.delete(hash);
          pendingDeletes.push({ id, hash });
          const outcome: Outcome = await fetch(`${url}/api/images/${id}`, {
            method: 'DELETE',
            headers: auth,
          }).then(
            (r) => (r.status === 204 ? 'acked' : 'refused'),
            () => 'unknown',
          );
          if (outcome === 'unknown') continue; // stays pending
          pendingDeletes = pendingDeletes.filter((d) => d.id !== id);
          if (outcome === 'acked') {
            deleted.add(id);
            tally.deletesAcked++;
          } else {
            present.set(hash, id);
            tally.refused++;
          }
        } else {
          if (next + 2 > images.length) return;
          const batch = images.slice(next, next + 1 + rng.int(2));
          next += batch.length;
          const hashes = batch.map(sha);
          pendingUploads.push(...hashes);
          const form = new FormData();
          batch.forEach((b, i) => form.append('image', new Blob([new Uint8Array(b)]), `u${i}.img`));
          const res = await fetch(`${url}/api/images`, {
            method: 'POST',
            headers: auth,
            body: form,
          })
            .then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }))
            .catch(() => null);
          if (!res) continue; // the kill: outcome unknown, stays pending
          pendingUploads = pendingUploads.filter((h) => !hashes.includes(h));
          if (res.status !== 201) {
            tally.refused++;
            continue;
          }
          const got = (res.body as { images: { id: number; status: string }[] }).images;
          got.forEach((g, i) => present.set(hashes[i]!, g.id));
          tally.uploadsAcked += got.length;
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);
    // Kill at a random moment once this round has acknowledged some writes (by the last round,
    // a delete among them), so a slow, loaded machine still puts writes at risk.
    const ackedBefore = tally.uploadsAcked + tally.deletesAcked;
    const deadline = Date.now() + 30_000;
    while (
      Date.now() < deadline &&
      (tally.uploadsAcked + tally.deletesAcked - ackedBefore < 3 ||
        (round === ROUNDS - 1 && tally.deletesAcked === 0))
    )
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, rng.int(1200)));
    await c.kill();
    for (const e of c.events) if (e.event === 'log') logs.push(e['message'] as string);
    stop = true;
    await Promise.all(clients);
    tally.unansweredAtKill += pendingUploads.length + pendingDeletes.length;
  }
  // The last restart: verify, stop it cleanly, then the whole-library check.
  const { c, url } = await server();
  await verify(url);
  c.proc.kill('SIGTERM');
  await c.wait('closed');
  for (const e of c.events) if (e.event === 'log') logs.push(e['message'] as string);
  const swept = logs
    .map((m) => /removed (\d+) file\(s\) left in uploads/.exec(m)?.[1])
    .reduce((s, n) => s + Number(n ?? 0), 0);
  const snap = checkLibrary(lib, embedder);
  assert.equal(snap.images, present.size);
  for (const hash of present.keys()) assert.ok(snap.vectorByHash.has(hash), hash);
  assert.ok(tally.uploadsAcked >= 5 && tally.deletesAcked >= 1, JSON.stringify(tally));
  reportFigures('kill-server', {
    rounds: ROUNDS,
    ...tally,
    ...resolved,
    imagesAtEnd: snap.images,
    orphanThumbnails: snap.orphanThumbnails,
    uploadFilesSweptAtRestart: swept,
    lost: 0,
    halfPresent: 0,
  });
});
