/**
 * The README's "Use the official ImageNet models" section, run as written: its shell block is
 * read from README.md itself, and each `npx matsearch ...` line runs (in a scratch folder) against
 * a local hub that serves the small PyTorch fixture under the real repository ids. The only
 * changes are the placeholders a reader would swap for their own files (below); a command the
 * test cannot run, or one that fails, fails the test, so the README cannot drift.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUB_FIXTURE } from '../classify/fixture.js';
import { runCli } from './cli-run.js';
import { FakeHub } from './hub-server.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const SECTION = 'Use the official ImageNet models';
const IDS = [
  'scaledfoundations/MatMamba-Vision-35M-ImageNet',
  'scaledfoundations/MatMamba-Vision-135M-ImageNet',
];
const sample = (n: string) =>
  fileURLToPath(new URL(`../../../samples/photos/animals-${n}.jpg`, import.meta.url));

/** The section's text, up to the next heading of its level. */
export function readmeSection(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section '## ${title}'`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The commands of a section's ```sh blocks: one per line, comments dropped. */
export function shellCommands(section: string): string[][] {
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.replace(/\\\n/g, ' ').split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => l.split(/\s+/));
}

let hub: FakeHub;
let work: string;

before(async () => {
  hub = await FakeHub.start();
  const files = {
    'config.json': { bytes: readFileSync(join(HUB_FIXTURE, 'config.json')), lfs: false },
    'pytorch_model.bin': {
      bytes: readFileSync(join(HUB_FIXTURE, 'pytorch_model.bin')),
      lfs: true,
    },
  };
  for (const id of IDS) hub.add(id, files);
  work = mkdtempSync(join(tmpdir(), 'readme-official-'));
});

after(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

test("the README section's commands run as written against the hub", async () => {
  const section = readmeSection(readFileSync(README, 'utf8'), SECTION);
  for (const id of IDS) assert.ok(section.includes(id), `the section names ${id}`);
  const commands = shellCommands(section);
  const verbs = new Set(commands.map((c) => c.slice(2, c[2] === 'model' ? 4 : 3).join(' ')));
  for (const v of ['model pull', 'model import', 'classify', 'ingest', 'search'])
    assert.ok(verbs.has(v), `the section shows ${v}`);

  // What a reader swaps for their own files.
  const pictures = join(work, 'Pictures');
  mkdirSync(pictures);
  for (const n of ['giraffe', 'gorilla', 'horse', 'gibbon'])
    cpSync(sample(n), join(pictures, `${n}.jpg`));
  const downloaded = join(work, 'Downloads', 'MatMamba-Vision-35M-ImageNet');
  cpSync(HUB_FIXTURE, downloaded, { recursive: true });
  const placeholders: Record<string, string> = {
    'photo.jpg': sample('giraffe'),
    'query.jpg': sample('horse'),
    '~/Pictures': pictures,
    '~/Downloads/MatMamba-Vision-35M-ImageNet': downloaded,
  };
  const cwd = join(work, 'project');
  mkdirSync(cwd);
  const env = {
    MATSEARCH_HUB_ENDPOINT: hub.url,
    MATSEARCH_CACHE_DIR: join(work, 'cache'),
    MATSEARCH_LIBRARY: join(cwd, 'matsearch-data'),
  };
  for (const c of commands) {
    assert.deepEqual(c.slice(0, 2), ['npx', 'matsearch'], `a matsearch command: ${c.join(' ')}`);
    const args = c.slice(2).map((a) => placeholders[a] ?? a);
    const left = args.filter((a) => a.startsWith('~'));
    assert.deepEqual(left, [], `a placeholder this test does not know: ${c.join(' ')}`);
    const r = await runCli(args, env, cwd);
    assert.equal(r.status, 0, `${c.join(' ')}\n${r.stdout}\n${r.stderr}`);
    if (c[2] === 'classify' && c.includes('--json')) {
      const out = JSON.parse(r.stdout.trim()) as { classes: unknown[]; width: string };
      assert.equal(out.width, '1/8');
      assert.equal(out.classes.length, 5);
    }
    if (c[2] === 'search') assert.match(r.stdout, /giraffe|gorilla|horse|gibbon/);
  }
  // The pulls wrote the folders the other commands name.
  for (const m of ['MatMamba-Vision-35M-ImageNet', 'matmamba-135m'])
    assert.ok(existsSync(join(cwd, 'models', m, 'model.safetensors')), m);
});
