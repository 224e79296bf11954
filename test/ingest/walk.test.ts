import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { globToRegExp, walk } from '../../ingest/walk.js';

test('walk finds images, skips hidden files and debris, honours globs and survives symlink loops', () => {
  const root = mkdtempSync(join(tmpdir(), 'walk-'));
  const files = [
    'a.jpg',
    'b.PNG',
    'notes.txt',
    '.hidden.jpg',
    '._a.jpg',
    '.DS_Store',
    'sub/c.webp',
    'sub/deep/d.gif',
    '.cache/e.jpg',
    'raw/f.tiff',
  ];
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), 'x');
  }
  symlinkSync(root, join(root, 'sub', 'loop')); // a loop back to the root
  symlinkSync(join(root, 'missing.jpg'), join(root, 'dangling.jpg'));
  const errors: string[] = [];
  const rel = (o = {}) =>
    [...walk([root], o, (p) => errors.push(relative(root, p)))].map((f) => relative(root, f.path));
  assert.deepEqual(rel(), ['a.jpg', 'b.PNG', 'raw/f.tiff', 'sub/c.webp', 'sub/deep/d.gif']);
  assert.deepEqual(errors, ['dangling.jpg']);
  assert.deepEqual(rel({ exclude: ['raw/**', '*.gif'] }), ['a.jpg', 'b.PNG', 'sub/c.webp']);
  assert.deepEqual(rel({ include: ['sub/**/*.{webp,gif}'] }), ['sub/c.webp', 'sub/deep/d.gif']);
  assert.ok(rel({ hidden: true }).includes('.hidden.jpg'));
  assert.ok(!rel({ hidden: true }).includes('._a.jpg'));
  assert.ok(globToRegExp('**/*.jpg').test('x/y/z.JPG'));
  assert.ok(globToRegExp('**/*.jpg').test('z.jpg'));
  assert.ok(!globToRegExp('*.jpg').test('x/z.jpg'));
  rmSync(root, { recursive: true });
});
