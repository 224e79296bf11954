/**
 * README smoke: every shell command in the README's ```sh blocks is either run as written, in
 * bash, against a temporary library made from samples/, or listed below with the reason it is
 * not; a command that is neither fails the test, so the README cannot drift from the CLI.
 * Only what must be temporary is mapped: HOME (so ~/Pictures is a copy of samples/photos' originals
 * and the noto emoji), the working directory (./matsearch-data, query.jpg, a.jpg, b.jpg,
 * queries.txt, a link to models/), and `npx matsearch`, which runs this build's CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repo, 'dist/src/cli/main.js');

/** Sections not run at all, by heading: each has its own test. */
const SKIP_SECTIONS: Record<string, string> = {
  'Use the official ImageNet models':
    'model pull/import and classify fetch or convert checkpoints; that section has its own test',
};

/** Commands not run, by pattern, with the reason. */
const NOT_RUN: [RegExp, string][] = [
  [/^npm ci\b/, 'installs the packages and runs the whole suite or the demo: what .ci/run does'],
  [/^npm run data\b|^npx matsearch data\b/, 'downloads data sets (Debian, npm) into .cache/data'],
  [/^npx matsearch train\b/, 'training runs for CPU-hours'],
  [/^npx matsearch eval\b/, 'needs the downloaded evaluation data sets'],
  [/^npx matsearch serve\b/, 'a server that runs until stopped; test/web/api.test.ts drives one'],
  [/^curl\b/, 'needs the server above; test/web/api.test.ts sends these requests'],
  [/^npm run bench\b/, 'benchmarks run for minutes'],
  [/--queue\b/, 'needs a Redis server; test/queue/ starts one'],
  [/^npx matsearch (model (pull|import)|classify)\b/, 'another section with its own test'],
  [
    /^npx matsearch model whiten\b/,
    'fits on the downloaded training corpus; test/model/whiten-model.test.ts runs it on generated images',
  ],
];

interface Command {
  readonly section: string;
  readonly text: string;
}

/** The README's shell commands: ```sh blocks, continuation lines joined, comments dropped. */
export function readmeCommands(markdown: string): Command[] {
  const out: Command[] = [];
  let section = '';
  let inBlock = false;
  let pending = '';
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (!inBlock && heading) section = heading[1]!.trim();
    if (/^```sh\s*$/.test(line)) inBlock = true;
    else if (inBlock && /^```/.test(line)) inBlock = false;
    else if (inBlock) {
      if (/^\s*#/.test(line) || line.trim() === '') continue;
      // A comment starts at '  #' outside quotes (the README never quotes '  #').
      const code = line.replace(/\s{2,}#.*$/, '').trimEnd();
      if (code.endsWith('\\')) {
        pending += code.slice(0, -1) + ' ';
        continue;
      }
      out.push({ section, text: (pending + code).trim() });
      pending = '';
    }
  }
  return out;
}

function why(c: Command): string | undefined {
  const section = SKIP_SECTIONS[c.section];
  if (section) return section;
  return NOT_RUN.find(([re]) => re.test(c.text))?.[1];
}

test('the README commands run as written (or are listed with a reason)', () => {
  const commands = readmeCommands(readFileSync(join(repo, 'README.md'), 'utf8'));
  const toRun = commands.filter((c) => !why(c));
  const skipped = commands.filter((c) => why(c));
  assert.ok(toRun.length >= 15, `only ${toRun.length} commands to run`);
  // Every command is accounted for: run, or skipped with a reason (printed for the log).
  for (const c of skipped) console.log(`not run: ${c.text}\n  (${why(c)})`);

  const tmp = mkdtempSync(join(tmpdir(), 'readme-'));
  try {
    const home = join(tmp, 'home');
    const cwd = join(tmp, 'work');
    const pictures = join(home, 'Pictures');
    mkdirSync(pictures, { recursive: true });
    mkdirSync(cwd);
    // The originals only: an edited copy is the query, and its original should come first.
    const photos = join(repo, 'samples/photos');
    for (const f of readdirSync(photos).filter((f) => /\.jpg$/.test(f) && !f.includes('.edit.')))
      copyFileSync(join(photos, f), join(pictures, f));
    cpSync(join(repo, 'samples/noto'), join(pictures, 'noto'), { recursive: true });
    copyFileSync(join(photos, 'animals-horse.edit.jpg'), join(cwd, 'query.jpg'));
    copyFileSync(join(photos, 'animals-koala.edit.jpg'), join(cwd, 'a.jpg'));
    copyFileSync(join(photos, 'fishes-fish10.edit.jpg'), join(cwd, 'b.jpg'));
    writeFileSync(join(cwd, 'queries.txt'), 'query.jpg\n');
    symlinkSync(join(repo, 'models'), join(cwd, 'models'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      MATSEARCH_CACHE_DIR: process.env['MATSEARCH_CACHE_DIR'] ?? join(tmp, 'cache'),
    };
    delete env['MATSEARCH_LIBRARY'];
    delete env['MATSEARCH_MODEL'];
    // `npx matsearch` is this checkout's build; anything else would be a real npx.
    const prelude = `npx() { if [ "$1" = matsearch ]; then shift; "${process.execPath}" "${cli}" "$@"; else command npx "$@"; fi; }\n`;
    for (const c of toRun) {
      const t0 = performance.now();
      const r = spawnSync('bash', ['-c', prelude + c.text], { cwd, env, encoding: 'utf8' });
      const ms = performance.now() - t0;
      console.log(`ran in ${(ms / 1000).toFixed(1)} s: ${c.text}`);
      assert.equal(r.status, 0, `${c.text}\nexit ${r.status}\n${r.stderr}`);
      assert.ok(r.stdout.trim().length > 0, `${c.text}: printed nothing`);
      if (/--json\b/.test(c.text)) {
        const lines = r.stdout.trim().startsWith('{\n') ? [r.stdout] : r.stdout.trim().split('\n');
        for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `${c.text}: not JSON`);
      }
      // The README's example query is an edited photo: its original comes first.
      if (c.text === 'npx matsearch search query.jpg --k 1 --json') {
        const line = JSON.parse(r.stdout) as { results: { path: string }[] };
        assert.equal(line.results[0]!.path, join(pictures, 'animals-horse.jpg'));
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
