/**
 * Commands that need a library never create one: in a folder without a library they exit 2 with
 * a message saying what to do, and leave no `matsearch-data` (or --library folder) behind.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

before(setup);

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('search, similar, dupes, stats, refine, reindex and remove never create a library', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-nolib-'));
  try {
    const model = saveTestModel(join(dir, 'model'));
    const [query] = await writeImages(join(dir, 'photos'), 1, 3);
    const env = { ...process.env };
    delete env['MATSEARCH_LIBRARY'];
    const run = (args: string[]) =>
      spawnSync(process.execPath, [cli, ...args, '--model', model], {
        encoding: 'utf8',
        cwd: dir,
        env,
      });
    const commands = [
      ['search', query!],
      ['similar', '1'],
      ['dupes'],
      ['stats'],
      ['refine'],
      ['reindex'],
      ['remove', '1'],
    ];
    for (const cmd of commands) {
      // The default library (./matsearch-data), then one named with --library.
      for (const [args, lib] of [
        [cmd, join(dir, 'matsearch-data')],
        [[...cmd, '--library', join(dir, 'elsewhere')], join(dir, 'elsewhere')],
      ] as const) {
        const r = run([...args]);
        assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
        assert.ok(
          r.stderr.includes(
            `no library at ${lib}; run \`matsearch ingest\` first, or pass --library`,
          ),
          `${args.join(' ')}: ${r.stderr}`,
        );
        assert.equal(r.stdout, '', args.join(' '));
        assert.ok(!existsSync(lib), `${args.join(' ')} created ${lib}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
