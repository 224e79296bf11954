/**
 * `serve --precision`: an int8 server searches with the int8 encoder (its model id says so, the
 * id its vectors are stored under), and a precision it does not know is refused at start.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.js';
import { saveTestModel } from '../ingest/fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Starts `serve` with `args`, returns its /api/stats, then stops it. */
async function statsOf(args: string[], env: NodeJS.ProcessEnv): Promise<{ model_id: string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { env });
  const closed = new Promise((r) => child.once('close', r));
  try {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+)/.exec(out);
        if (m) ok(m[1]!.replace(/\/$/, ''));
      });
      child.on('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
    });
    const res = await fetch(`${url}/api/stats`);
    assert.equal(res.status, 200);
    return (await res.json()) as { model_id: string };
  } finally {
    child.kill('SIGTERM');
    await closed;
  }
}

test('serve --precision int8 serves the int8 encoder; fp32 stays the default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-precision-'));
  try {
    const model = saveTestModel(join(dir, 'model'));
    const env = { ...process.env, MATSEARCH_CACHE_DIR: join(dir, 'cache') };
    const common = ['--library', join(dir, 'lib'), '--model', model, '--refine-share', '0'];
    const int8 = await statsOf([...common, '--precision', 'int8'], env);
    assert.match(int8.model_id, /^test-encoder@[0-9a-f]{12}\+int8$/);
    const fp32 = await statsOf(common, env);
    assert.match(fp32.model_id, /^test-encoder@[0-9a-f]{12}$/);
    assert.equal(int8.model_id, `${fp32.model_id}+int8`);

    const bad = spawnSync(process.execPath, [cli, 'serve', ...common, '--precision', 'fp16'], {
      encoding: 'utf8',
      env,
    });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /precision must be fp32 or int8, got 'fp16'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
