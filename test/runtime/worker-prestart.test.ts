/**
 * A pool made ahead of use (WorkerPool.prestart, as the CLI does before it loads a command) whose
 * worker is never sent anything does not keep the process alive, so a command that fails before
 * it encodes still exits. Each case runs in a child under a time limit: a regression fails here
 * instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIMIT_MS = 30_000;
const pool = new URL('../../src/runtime/worker-pool.js', import.meta.url).href;
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('a prestarted pool that is never used lets the process exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prestart-'));
  try {
    // A script file: under `node -e` the process exited even when the worker held it.
    const script = join(dir, 'prestart.mjs');
    writeFileSync(script, `(await import(${JSON.stringify(pool)})).WorkerPool.prestart();\n`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: LIMIT_MS });
    assert.equal(r.signal, null, 'the process was still running at the time limit');
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process that ends while the prestarted worker is still loading onnxruntime exits cleanly', () => {
  // Ending mid-boot used to abort the process ("terminate called after throwing an instance of
  // 'Napi::Error'", no exit status) when the thread was stopped inside the binding's load.
  const dir = mkdtempSync(join(tmpdir(), 'prestart-'));
  try {
    const script = join(dir, 'prestart-exit.mjs');
    writeFileSync(
      script,
      `(await import(${JSON.stringify(pool)})).WorkerPool.prestart();\n` +
        `setTimeout(() => { process.exitCode = 3; }, Number(process.argv[2]));\n`,
    );
    for (const delay of [0, 10, 20, 40, 60, 80, 100, 120, 150, 180, 220, 300]) {
      const r = spawnSync(process.execPath, [script, String(delay)], {
        encoding: 'utf8',
        timeout: LIMIT_MS,
      });
      assert.equal(r.signal, null, `after ${delay} ms: killed by ${r.signal}: ${r.stderr}`);
      assert.equal(r.status, 3, `after ${delay} ms: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a search refused before it encodes exits with its error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prestart-'));
  try {
    const r = spawnSync(process.execPath, [cli, 'search', join(dir, 'nope.jpg')], {
      encoding: 'utf8',
      timeout: LIMIT_MS,
      env: { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') },
    });
    assert.equal(r.signal, null, 'the process was still running at the time limit');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /no such file: .*nope\.jpg/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
