/**
 * Every command's --help lists every option the command accepts, and no option it does not:
 * the help text is parsed for `--name` and compared with the options the command declares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { commandHelp, COMMANDS } from '../../src/cli/commands.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The long options a help text names (`--width`, `--no-dedupe`), in prose or in the usage. */
function optionsIn(text: string): Set<string> {
  return new Set([...text.matchAll(/(?<![\w-])--([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!));
}

test("each command's help lists exactly the options it accepts", async () => {
  const wrong: string[] = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const cmd = await load();
    const listed = optionsIn(commandHelp(name, cmd));
    const declared = new Set(Object.keys(cmd.options));
    const missing = [...declared].filter((o) => !listed.has(o));
    const unknown = [...listed].filter((o) => !declared.has(o) && o !== 'help');
    if (missing.length) wrong.push(`${name}: help does not list --${missing.join(', --')}`);
    if (unknown.length) wrong.push(`${name}: help lists undeclared --${unknown.join(', --')}`);
  }
  assert.deepEqual(wrong, []);
});

test('--help prints that text', async () => {
  const r = spawnSync(process.execPath, [cli, 'search', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trimEnd(), commandHelp('search', await COMMANDS['search']!()));
});
