/** The built `matsearch` bin runs directly, as npm's link to it runs it, after every build. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// dist/test/cli/ -> the package root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('the bin that package.json names is executable and runs without node in front', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    bin: Record<string, string>;
  };
  const bin = `${ROOT}${pkg.bin['matsearch']}`;
  accessSync(bin, constants.X_OK); // throws EACCES when the build left it without its execute bit
  const out = execFileSync(bin, ['--help'], { encoding: 'utf8' });
  assert.match(out, /usage: matsearch <command>/);
});
