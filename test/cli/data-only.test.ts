import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataParts } from '../../src/cli/data.js';

test('matsearch data --only picks the parts to fetch, and refuses unknown ones', () => {
  const sorted = (s: Set<string>) => [...s].sort();
  assert.deepEqual(sorted(dataParts(undefined)), ['emoji', 'fmnist']);
  assert.deepEqual(sorted(dataParts(undefined, 'photos')), ['corpus', 'emoji', 'fmnist']);
  assert.deepEqual(sorted(dataParts(['emoji'])), ['emoji'], 'no apt fetch of Fashion-MNIST');
  assert.deepEqual(sorted(dataParts(['corpus'])), ['corpus']);
  assert.deepEqual(sorted(dataParts(['fmnist,emoji'])), ['emoji', 'fmnist']);
  assert.deepEqual(sorted(dataParts(['corpus'], 'photos')), ['corpus']);
  assert.throws(() => dataParts(['mnist']), { code: 'E_VALIDATION', message: /--only takes/ });
  assert.throws(() => dataParts(['emoji'], 'photos'), { code: 'E_VALIDATION' });
});
