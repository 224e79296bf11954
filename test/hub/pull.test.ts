/**
 * `matsearch model pull` against a local hub (hub-server.ts) serving the PyTorch-made fixture
 * checkpoint: a clean pull through the CDN redirect, a transfer dropped mid-file and resumed with
 * Range + If-Range, a corrupt download refused and deleted, the hub unreachable, an unknown repo.
 * The oracle for a pulled model is the tensors numpy wrote (test/fixtures/torch/expected-f32.raw).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../src/model/safetensors.js';
import { fixtureWeights, HUB_FIXTURE } from '../classify/fixture.js';
import { runCli } from './cli-run.js';
import { COMMIT, FakeHub } from './hub-server.js';

const REPO = 'fixture-org/Tiny-MatMamba';
const BIN = readFileSync(join(HUB_FIXTURE, 'pytorch_model.bin'));
const CONFIG = readFileSync(join(HUB_FIXTURE, 'config.json'));

let hub: FakeHub;
let root: string;
let n = 0;

/** A fresh cache and output folder per test, so partial files never leak between them. */
function folders() {
  const dir = join(root, `t${n++}`);
  return { out: join(dir, 'model'), cache: join(dir, 'cache') };
}

function pull(args: string[], cache: string, endpoint = hub.url) {
  return runCli(['model', 'pull', ...args], {
    MATSEARCH_HUB_ENDPOINT: endpoint,
    MATSEARCH_CACHE_DIR: cache,
  });
}

/** The pulled model holds exactly the tensors PyTorch saved. */
function assertFixtureModel(out: string) {
  const got = readSafetensors(join(out, 'model.safetensors')).tensors;
  const want = fixtureWeights();
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [name, w] of want)
    assert.ok(Buffer.from(got.get(name)!.data.buffer).equals(Buffer.from(w.buffer)), name);
}

/** Every file under a folder (the partial downloads the cache keeps). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

before(async () => {
  hub = await FakeHub.start();
  hub.add(REPO, {
    'config.json': { bytes: CONFIG, lfs: false },
    'pytorch_model.bin': { bytes: BIN, lfs: true },
  });
  root = mkdtempSync(join(tmpdir(), 'pull-'));
});

after(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

test('a clean pull follows the CDN redirect, verifies both files and imports them', async () => {
  const { out, cache } = folders();
  const from = hub.log.length;
  const r = await pull([REPO, '--out', out], cache);
  assert.equal(r.status, 0, r.stderr);
  assertFixtureModel(out);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { modelId: string };
  assert.match(r.stdout, new RegExp(`pulled ${REPO} at ${COMMIT.slice(0, 12)}`));
  assert.ok(r.stdout.includes(cfg.modelId), r.stdout);
  const gets = hub.log.slice(from).filter((l) => l.method === 'GET');
  assert.ok(
    gets.some((l) => l.path === `/${REPO}/resolve/${COMMIT}/config.json`),
    'pinned',
  );
  assert.ok(
    gets.some((l) => l.path.startsWith('/cdn/')),
    'the .bin came from the CDN',
  );
  // The progress bar's last line (stderr is no TTY: a line per 10 s and one at the end).
  assert.match(r.stderr, /0\.2\/0\.2 MB \| [\d.]+ MB\/s \| ETA [\d:]+ \| pytorch_model\.bin/);
  assert.deepEqual(filesUnder(cache), [], 'the downloads are removed once imported');
});

test('an interrupted transfer is resumed with Range and If-Range, and the model is right', async () => {
  const { out, cache } = folders();
  const cut = 40_000;
  hub.dropAfter.push(cut);
  const first = await pull([REPO, '--out', out], cache);
  assert.equal(first.status, 1, first.stderr);
  assert.match(first.stderr, /interrupted after .* run the same command again to resume/);
  assert.ok(!existsSync(out), 'no model before the download is whole');
  const part = filesUnder(cache).find((f) => f.endsWith('pytorch_model.bin.part'));
  assert.ok(part, `the partial file is kept: ${filesUnder(cache).join(', ')}`);
  assert.equal(statSync(part).size, cut);

  const from = hub.log.length;
  const second = await pull([REPO, '--out', out], cache);
  assert.equal(second.status, 0, second.stderr);
  const resumed = hub.log
    .slice(from)
    .filter((l) => l.method === 'GET' && l.path.startsWith('/cdn/'));
  assert.equal(resumed.length, 1);
  assert.equal(resumed[0]!.range, `bytes=${cut}-`);
  assert.match(resumed[0]!.ifRange ?? '', /^"cdn-[0-9a-f]{16}"$/, 'If-Range carries the ETag');
  assertFixtureModel(out);
});

test('a download that does not match the checksum is refused and deleted; no model', async () => {
  const { out, cache } = folders();
  hub.corrupt = true;
  try {
    const r = await pull([REPO, '--out', out], cache);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /pytorch_model\.bin does not match the hub's sha256/);
    assert.match(r.stderr, /deleted/);
    assert.ok(!existsSync(out), 'no model written');
    assert.deepEqual(
      filesUnder(cache).filter((f) => f.includes('pytorch_model.bin')),
      [],
      'the bad file is gone',
    );
  } finally {
    hub.corrupt = false;
  }
});

test('an unreachable hub says so and how to import by hand', async () => {
  const { out, cache } = folders();
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const endpoint = `http://127.0.0.1:${port}`;
  const r = await pull([REPO, '--out', out], cache, endpoint);
  assert.equal(r.status, 1, r.stderr);
  assert.ok(
    r.stderr.includes(
      `cannot reach the hub at ${endpoint}; download the files yourself and run \`matsearch model import\``,
    ),
    r.stderr,
  );
  assert.ok(!existsSync(out));
});

test('an unknown repository or revision is a clear 404 error (exit 2)', async () => {
  const { out, cache } = folders();
  const r = await pull(['nobody/No-Such-Model', '--out', out], cache);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /nobody\/No-Such-Model has no config\.json at revision main on the hub/);
  assert.match(r.stderr, /404/);
  const rev = await pull([REPO, '--revision', 'v9', '--out', out], cache);
  assert.equal(rev.status, 2, rev.stderr);
  assert.match(rev.stderr, /at revision v9/);
  assert.ok(!existsSync(out));
});

test('--revision picks the files of that revision; bad arguments exit 2', async () => {
  const { out, cache } = folders();
  const from = hub.log.length;
  const r = await pull([REPO, '--revision', COMMIT, '--out', out], cache);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(hub.log.slice(from).every((l) => !l.path.includes('/resolve/main/')));
  assertFixtureModel(out);
  for (const args of [[], ['not-a-hub-id', '--out', out], [REPO, '--name', '../x']]) {
    const bad = await pull(args, cache);
    assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
  }
});
