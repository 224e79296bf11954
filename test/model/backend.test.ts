import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const backendModule = fileURLToPath(new URL('../../src/model/backend.js', import.meta.url));

/** Runs initBackend in a fresh process (it is once-per-process) and returns its outcome. */
function initIn(env: Record<string, string>, opts: string) {
  const script = `import { initBackend } from ${JSON.stringify(backendModule)};
    initBackend(${opts}).then((b) => console.log('BACKEND=' + b), (e) => { console.log('ERROR=' + e.code + ' ' + e.message); });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { out: r.stdout, err: r.stderr };
}

test('the default backend is native TensorFlow or wasm, never the slow cpu one', () => {
  const { out } = initIn({ MATSEARCH_TF_BACKEND: '' }, "{ purpose: 'training' }");
  assert.match(out, /BACKEND=(tensorflow|wasm)/);
});

test('training on the pure-JS cpu backend is refused loudly unless asked for', () => {
  const refused = initIn({ MATSEARCH_TF_BACKEND: 'cpu' }, "{ purpose: 'training' }");
  assert.match(refused.out, /ERROR=E_BACKEND .*30x slower.*--allow-slow-cpu/);
  const allowed = initIn(
    { MATSEARCH_TF_BACKEND: 'cpu' },
    "{ purpose: 'training', allowSlowCpu: true }",
  );
  assert.match(allowed.out, /BACKEND=cpu/);
  assert.match(allowed.err, /WARNING: tfjs is running on the pure-JavaScript cpu backend/);
});

test('an unknown backend name is a clear error', () => {
  const { out } = initIn({ MATSEARCH_TF_BACKEND: 'gpu' }, '{}');
  assert.match(out, /ERROR=E_BACKEND unknown tfjs backend 'gpu'/);
});
