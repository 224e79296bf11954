/**
 * Writes docs/RELIABILITY.md from what the reliability tests measured (the JSON each one leaves
 * under $MATSEARCH_RELIABILITY_OUT):
 *
 *   MATSEARCH_RELIABILITY_OUT=.cache/reliability \
 *     node --test --test-concurrency=2 dist/test/reliability/*.test.js
 *   node dist/test/reliability/write-doc.js .cache/reliability docs/RELIABILITY.md
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;
const [from = '.cache/reliability', to = 'docs/RELIABILITY.md'] = process.argv.slice(2);

function load(name: string): Json {
  const f = join(from, `${name}.json`);
  if (!existsSync(f)) throw new Error(`${f} is missing: run the reliability tests first`);
  return JSON.parse(readFileSync(f, 'utf8')) as Json;
}

const n = (x: unknown) => Number(x ?? 0);
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

const ki = load('kill-ingest');
const ks = load('kill-server');
const ix = load('index-faults');
const df = load('disk-full');
const tw = load('two-writers');
const hf = load('hostile-files');
const fz = load('fuzz-api');
const ws = load('web-security');
const ow = load('other-writers');
const ep = load('exit-paths');
const wd = load('web-defaults');
const sc = load('slow-clients');
const rs = load('responsive');
const rsS = rs['similar'] as Json;
const rsD = rs['delete'] as Json;

const dfT = df['tmpfs'] as { ran: boolean; why?: string; runs?: Json[] };
const dfH = df['hook'] as { runs: Json[] };
const corpus = hf['corpus'] as Json;
const timeout = hf['timeout'] as Json;
const byKind = corpus['byKind'] as Record<
  string,
  { files: number; errors: number; embedded: number }
>;
const tw1 = tw['whileRunning'] as Json;
const tw2 = tw['race'] as Json;
const w = (k: string) => ws[k] as Json;
const epRuns = ep['runs'] as { trigger: string; command: string; exit: number; ms: number }[];
const wdCsrf = wd['csrf'] as Json;
const wdRebind = wd['rebinding'] as Json;

const table = [
  row(['test', 'what happens', 'runs / inputs', 'faults injected', 'result', 'lost']),
  row(['---', '---', '---', '---', '---', '---']),
  row([
    '`kill-ingest`',
    'SIGKILL of `ingest` at a seeded random write step or time, then the same ingest again',
    `${ki['runs']} runs of ${ki['images']} images + ${ki['failures']} bad files (${ki['writeSteps']} write steps a run)`,
    `${ki['killed']} SIGKILLs (${ki['killedMidRun']} with some batches committed)`,
    `every run equal to a clean run; consistent right after each kill; ${ki['indexRepairsLogged']} index repairs logged`,
    String(ki['lost']),
  ]),
  row([
    '`kill-server`',
    'SIGKILL of `serve` while 4 clients upload and delete, restart, verify',
    `${ks['rounds']} rounds, ${ks['requests']} requests`,
    `${ks['rounds']} SIGKILLs; ${ks['unansweredAtKill']} writes unanswered at a kill`,
    `${ks['uploadsAcked']} acknowledged uploads all present, ${ks['deletesAcked']} acknowledged deletes all gone; unanswered: ${ks['wholeAfterKill']} whole, ${ks['absentAfterKill']} absent, 0 half; ${ks['uploadFilesSweptAtRestart']} orphan upload file(s) swept at restart`,
    String(ks['lost']),
  ]),
  row([
    '`index-faults`',
    'index files deleted, truncated, a byte flipped, older or newer than the database; reopen',
    `${ix['cases']} cases on exact, hnswlib and usearch indexes`,
    `${ix['cases']}`,
    `all detected at open and rebuilt or caught up, each with a log line`,
    String(ix['lost']),
  ]),
  row([
    '`disk-full`',
    'the disk fills during `ingest`; free space; ingest again',
    `${dfT.ran ? `${dfT.runs!.length} runs on an 8 MB tmpfs + ` : ''}${dfH.runs.length} runs with a write hook`,
    `${(dfT.ran ? dfT.runs!.length : 0) + dfH.runs.length} full disks (SQLite SQLITE_FULL, ENOSPC on thumbnails and index)`,
    `each run stops with "the disk … is full … free some space and run the ingest again", then resumes to a clean run's library${dfT.ran ? '' : ` (tmpfs not run: ${dfT.why})`}`,
    String(df['lost']),
  ]),
  row([
    '`two-writers`',
    'a second ingest while one runs; two started at once',
    `1 + ${tw2['rounds']} rounds + a stale lock + a new library opened by two processes`,
    `${1 + n(tw2['rounds'])} concurrent writers`,
    `${n(tw1['refused']) + n(tw2['refused'])} refused with the lock message, ${tw2['bothHeldTheLock']} held the lock at once; a killed writer's lock did not block the next`,
    '0',
  ]),
  row([
    '`other-writers`',
    'a CLI ingest, then a remove and an ingest by other processes, while `serve` runs',
    '4 + 6 + 1 images, 1 removed',
    `image ${ow['removedId']} removed, the next new image got id ${ow['newId']}`,
    `the server's index saw the other process's 6 images within ${ow['catchUpMs']} ms; the deleted vector matched nothing, the new image found itself; the index saved at the end agreed with the database`,
    '0',
  ]),
  row([
    '`hostile-files`',
    'hostile files ingested in a child process',
    `${corpus['files']} files (${Object.keys(byKind).length} kinds)`,
    'damaged, lying, scripted and awkward files',
    `${corpus['recordedErrors']} recorded errors, ${corpus['embedded']} correct embeddings, ${corpus['crashes']} crashes, ${corpus['hangs']} hangs in ${corpus['seconds']} s; ${corpus['svgRequests']} SVG fetches; decode timeout recorded as the file's error`,
    '0',
  ]),
  row([
    '`fuzz-api`',
    'seeded random requests to search, upload, images, similar, ingest, delete',
    `${fz['requests']} requests in ${fz['seconds']} s (slowest ${fz['maxLatencyMs']} ms)`,
    'malformed multipart and JSON, huge fields, bad widths/k/budgets, unicode and `..` everywhere',
    `statuses ${Object.entries(fz['statuses'] as Json)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}; ${fz['fiveHundreds']} 5xx, server up, library intact`,
    '0',
  ]),
  row([
    '`web-security`',
    'traversal and symlink escapes on every file route; API key; exhaustion',
    `${n(w('originals')['cases']) + n(w('uploads')['names']) + n(w('deletes')['cases']) + n(w('ingest')['refused']) + n(w('ingest')['allowed']) + n(w('ui')['traversals']) + n(w('ui')['linksOut'])} path cases, ${w('apiKey')['refused']} bad keys`,
    'links out of roots and UI folder, `..` in URLs, names and stored paths, wrong keys',
    `0 files served or written outside; all ${w('apiKey')['refused']} bad keys refused (401); ${w('apiKey')['timingSafeEqualCalls']} key checks, all timingSafeEqual on ${w('apiKey')['digestBytes']}-byte digests`,
    '0',
  ]),
  row([
    '`exit-paths`',
    'a library that cannot open (newer or garbage database, full disk, index file a folder); `serve` stopped by SIGTERM on a full disk',
    `${epRuns.length} runs of the real CLI with onnxruntime worker threads`,
    `${epRuns.length} failures at open or close (ENOSPC from /dev/full)`,
    `every run exited (codes ${[...new Set(epRuns.map((r) => r.exit))].join(', ')}) in at most ${(Math.max(...epRuns.map((r) => r.ms)) / 1000).toFixed(1)} s; ${ep['hung']} hung (limit ${n(ep['limitMs']) / 1000} s)`,
    '0',
  ]),
  row([
    '`web-defaults`',
    'the default set-up (loopback, no key) against cross-site pages: CSRF and DNS rebinding',
    `${wdCsrf['cases']} cross-site and same-site writes, ${wdRebind['refused']} requests under foreign Host names`,
    'forms, text/plain and `Origin: null` posts, deletes and ingests; Host names of an attacker',
    `${wdCsrf['crossSiteStored']} cross-site writes stored; all ${wdRebind['refused']} rebinding requests refused (403), ${wdRebind['leaks']} paths sent`,
    '0',
  ]),
  row([
    '`slow-clients`',
    'multipart searches whose body trickles in a byte every 200 ms, and a normal search meanwhile',
    `${sc['slowClients']} slow clients on 2 search slots`,
    `body timeout ${sc['bodyTimeoutMs']} ms`,
    `normal search answered in ${sc['normalSearchMs']} ms while they trickled; they were cut off after ${(sc['slowClientsCutAfterMs'] as number[]).join(', ')} ms (${(sc['slowReplies'] as string[])[0]})`,
    '0',
  ]),
  row([
    '`responsive`',
    'the largest similar-search (k 1000 of a 10,000 shortlist), twice at once, and deletes, while /api/health is polled',
    `${rsS['images']} vectors of ${rsS['dim']} dims, index in a worker`,
    'maximal requests',
    `event loop blocked at most ${rsS['blockedMs']} ms (searches) and ${rsD['blockedMs']} ms (deletes), less waits for a core; wall-clock stalls ${rsS['stallMs']} / ${rsD['stallMs']} ms, slowest health ${rsS['healthMaxMs']} / ${rsD['healthMaxMs']} ms`,
    '0',
  ]),
].join('\n');

/**
 * What an anonymous client can make the server spend, from docs/bench/exhaustion.json when it is
 * there: one line per part of `npm run bench -- exhaustion widths|slow|memory`.
 */
function exhaustionSection(): string {
  const f = join(to, '..', 'bench', 'exhaustion.json');
  const how =
    '`for p in widths slow memory; do npm run --silent bench -- exhaustion $p; done > docs/bench/exhaustion.json`';
  if (!existsSync(f)) return `Resource exhaustion: not measured yet (${how}).`;
  const parts = readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json);
  const part = (name: string) => parts.find((p) => p['part'] === name);
  const lines = [`Resource exhaustion, measured by ${how}:`, ''];
  const w = part('widths');
  if (w) {
    const rss = w['rssMb'] as [number, number][];
    const cache = w['cache'] as Json;
    lines.push(
      `- **Distinct Mix'n'Match widths:** ${w['specs']} searches, each at a different 6-layer width spec: RSS ${rss[0]![1]} MB at the start, ${rss[1]![1]} MB after ${rss[1]![0]}, ${rss[rss.length - 1]![1]} MB after ${rss[rss.length - 1]![0]} (peak ${Math.max(...rss.map((r) => r[1]))} MB); the export cache held ${cache['widths']} specs in ${(n(cache['bytes']) / 2 ** 20).toFixed(1)} MiB of its ${(n(cache['budget']) / 2 ** 20).toFixed(1)} MiB budget after ${cache['evicted']} evictions.`,
    );
  }
  const sl = part('slow');
  if (sl)
    lines.push(
      `- **Slow images:** ${sl['slowFiles']} slow files abandoned at their decode timeout (${sl['timedOut']} timed out, after ${sl['abandonedAfterMs']} ms), then ${sl['normalFiles']} normal files: ${sl['normalAfterSlowMs']} ms, against ${sl['normalAloneMs']} ms on their own; every decoder idle ${sl['libvipsIdleAfterMs']} ms after the start.`,
    );
  const m = part('memory');
  if (m) {
    const deep = m['rgba16Interlaced100Mp'] as Json;
    const forty = m['fortyMp'] as Json;
    lines.push(
      `- **Decode memory:** a ${deep['fileKb']} KB 16-bit RGBA interlaced PNG of 100 MP: ${String(deep['result'])} (RSS ${deep['startMb']} MB, peak ${deep['peakMb']} MB); ${forty['files']} files of 40 MP, ${forty['atOnce']} at a time: RSS ${forty['startMb']} MB, peak ${forty['peakMb']} MB.`,
    );
  }
  return lines.join('\n');
}

/** The load benchmark's headline figures, from docs/bench/load.json when it is there. */
function loadSection(): string {
  const f = join(to, '..', 'bench', 'load.json');
  const link =
    'Load, latency and memory under load: [docs/bench/load.md](bench/load.md) (`npm run bench -- load`)';
  if (!existsSync(f)) return `${link}.`;
  const l = JSON.parse(readFileSync(f, 'utf8')) as {
    machine: { date: string };
    levels: {
      clients: number;
      ok: number;
      all: { p50: number; p99: number };
      busy503: number;
      failed: Json;
      ingestOverlap: number;
    }[];
    soak: { seconds: number; rssStartMb: number; rssEndMb: number; rssMaxMb: number } | null;
  };
  const lines = [
    `${link}, run ${l.machine.date.slice(0, 10)}: searches by id and by upload while an ingest runs.`,
    '',
    row(['clients', 'searches', 'p50 ms', 'p99 ms', '503', 'failed', 'ingest ran']),
    row(['---', '---', '---', '---', '---', '---', '---']),
    ...l.levels.map((x) =>
      row([
        x.clients,
        x.ok,
        x.all.p50.toFixed(0),
        x.all.p99.toFixed(0),
        x.busy503,
        Object.values(x.failed).reduce((a: number, b) => a + n(b), 0),
        `${(100 * x.ingestOverlap).toFixed(0)}%`,
      ]),
    ),
  ];
  if (l.soak)
    lines.push(
      '',
      `Soak of ${l.soak.seconds} s: server RSS ${l.soak.rssStartMb.toFixed(0)} MB at the start, ${l.soak.rssEndMb.toFixed(0)} MB at the end (max ${l.soak.rssMaxMb.toFixed(0)} MB).${l.soak.seconds < 300 ? ' A short soak: the default (`npm run bench -- load`) is 5 minutes.' : ''}`,
    );
  return lines.join('\n');
}

const kinds = [
  row(['kind', 'files', 'recorded error', 'embedded']),
  row(['---', '---', '---', '---']),
  ...Object.entries(byKind).map(([k, v]) => row([k, v.files, v.errors, v.embedded])),
].join('\n');

const closeness = Object.entries(corpus['closeness'] as Record<string, number>)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ');

const doc = `# Reliability

What a crash, a full disk, a hostile file or a hostile request does to a library, measured by the
tests in \`test/reliability/\` (they run in \`npm test\`). Every fault test ends with the same
checker (\`test/reliability/check.ts\`): it opens the library as any command would, then asserts
\`PRAGMA integrity_check\` is ok and \`foreign_key_check\` empty, every image is ready with a path,
a thumbnail and a vector of the model, no row points at nothing, and the index holds exactly the
images with vectors (each stored vector finds its image). "Lost" is what a clean run has and the
faulted one does not.

This file is written from the tests' own figures:

\`\`\`sh
MATSEARCH_RELIABILITY_OUT=.cache/reliability node --test --test-concurrency=2 dist/test/reliability/*.test.js
node dist/test/reliability/write-doc.js .cache/reliability docs/RELIABILITY.md
\`\`\`

${table}

${loadSection()}

${exhaustionSection()}

## Details

**kill-ingest.** Half the kills land just before a seeded random write step of the child (a
database transaction, or a file write, rename or removal: thumbnails, index files, the lock),
half at a seeded random time into the run; half the runs keep an HNSW index, half an exact one.
Images committed when the kill landed: ${(ki['imagesAtKill'] as number[]).join(', ')} (of ${ki['images']}).
After the resume no temp file and no orphan thumbnail is left.

**kill-server.** The server runs as \`matsearch serve\` does (index in a worker thread). A write
is acknowledged when its 201 or 204 arrives; an unanswered one (in flight, or sent after the kill)
must afterwards be whole (row, vector, original, thumbnail) or absent (no row, no file in
\`uploads/\`). Thumbnails left by an interrupted write are a cache keyed by content: the checker
counts them (${ks['orphanThumbnails']} here) and they harm nothing.

**disk-full.** ${
  dfT.ran
    ? `On the tmpfs, with ${(dfT.runs as { freeKiB: number }[]).map((r) => `${r.freeKiB} KiB`).join(', ')} left free, the real \`matsearch ingest\` stopped with exit 1 and, e.g.: "${String((dfT.runs as Json[])[0]!['message'])}". With the least room: "${String((dfT.runs as Json[])[(dfT.runs as Json[]).length - 1]!['message'])}" (when even opening the library fails, the message cannot name it).`
    : `The tmpfs case could not run here (${dfT.why}); it needs root with CAP_SYS_ADMIN.`
} The write hook (ENOSPC on file writes under the library after ${dfH.runs.map((r) => r['budget']).join(', ')} bytes) stopped runs after ${dfH.runs.map((r) => r['imagesAtStop']).join(', ')} images with code E_DISK_FULL; each resumed to the clean run's library.

**two-writers.** The refused ingest prints: "${String(tw1['message'])}" (exit 2).

**hostile-files.** Each file must be a recorded error or an embedding; "image" files must embed to
the vector of their plain 8-bit sRGB equivalent (cosine: ${closeness}); for each EXIF orientation
2-8 the embedding is nearest, of the 8 ways to turn and mirror the stored pixels, the one the EXIF
spec prescribes, and width and height are as displayed. SVGs pointed at a local HTTP server (image,
use, filter, CSS import, font, script, iframe, XInclude, external entities) made ${corpus['svgRequests']}
requests, and one referencing a local image by \`file://\` and by path did not draw it. A decode
over the per-file timeout (${timeout['timeoutMs']} ms in the test, 30 s by default, \`--decode-timeout\`)
is recorded as: "${String(timeout['message'])}".

${kinds}

**fuzz-api.** Requests by endpoint: ${Object.entries(fz['byEndpoint'] as Json)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}. Sent byte for byte with node:http, four at a time.

**web-security.** Originals: links to a file, to a folder and through a chain out of the root, a
sibling folder sharing the root's prefix, a file swapped for a link after its ingest, \`..\` in a
stored path, and traversal in the URL of every image route. Uploads named
\`../../../../tmp/pwned.png\`, \`/etc/cron.d/…\`, with NUL and backslashes: all saved under their
content hash in \`uploads/\`. A delete follows no link. Ingest roots outside, or spelled with \`..\`
or a link, are refused. The UI's static files: no traversal, no dotfiles, and (fixed) no symlink
out of its folder. The API key on POST /api/images, DELETE /api/images/:id and POST /api/ingest:
missing, wrong, any length, prefix, upper-cased, Basic scheme, in the query string: 401 each time.

## Bugs these tests found (fixed)

- A server killed between saving an upload and committing it left the file in \`uploads/\` for good
  (half-present): the server now removes unreferenced files and temp files there at start.
- \`width=1/8x1000000000\` (a Mix'n'Match repeat count) allocated an array of 10^9 entries: one
  request crashed the server (out of memory). Counts beyond the model's layers are a 400 now.
- A 1 x 2,000,000 PNG (a few KB, 2 MP, under every cap) was resized to 16 x 32,000,000 before the
  centre crop: minutes of CPU and gigabytes per file, in ingest and in a search upload. Strips are
  cut to their centre before resizing now (images up to 8:1 are unchanged).
- Two processes opening a new library at once both ran its schema migration; the second failed
  ("table meta already exists"). Migrations now start with BEGIN IMMEDIATE and re-read the
  schema version inside.
- A full disk was reported as an unexpected failure with a stack trace (or, when it struck while
  the library opened, as a bare "disk I/O error"), and a failed cleanup could hide the first error.
  Now: a message that says the disk is full and to run the ingest again, exit 1, HTTP 507 from the
  server. Likewise an error of the machine while reading a file (out of file handles or memory)
  was recorded as that file's failure, so the file was skipped for good; now the run stops.
- The web UI's static files followed symlinks out of the UI folder.
- There was no per-file decode timeout: one pathological file could hold an ingest indefinitely.
- The database ran \`synchronous = NORMAL\` and uploads were not fsynced: a power cut could take
  back writes the server had acknowledged. Now \`FULL\` (measured 0.3-0.5 ms a commit; an ingest
  commits once per batch) and fsynced uploads.
- The writer lock was a file holding the owner's pid: taking over a dead owner's lock was not
  atomic (two processes finding the same dead owner at once could both take it), and a lock read
  while its owner was still writing it looked stale. Exclusivity now comes from an exclusive SQLite
  transaction on \`write.lock.db\`, an OS lock the kernel drops when its process dies: nothing is
  ever taken over; the pid file only names the owner in the refusal message.
- A flipped byte inside an index file (size and structure intact) went unnoticed, and once the
  rerank read vectors from the index's memory it would have skewed scores too. Every index file
  is now saved with a SHA-256 (in its sidecar, or its header for the exact index), checked at
  open (about 0.5 s for the 800 MB index of 1M vectors); a mismatch rebuilds from the database.

- A library moved, renamed or opened through a link lost its uploaded originals: the start-up
  sweep compared today's spelling of the library with the absolute paths stored at upload time, and
  a second server on the same library swept the first one's in-flight uploads. The sweep now
  decides by the database and real paths (re-pointing rows under an old spelling), removes only
  what nothing references and predates the server, and a second server is refused
  (\`serve.lock\`).
- \`ingest --prune\` dropped the images of a folder that merely could not be read (EIO, permissions)
  as gone; they are kept now, and the folders named.
- A server never saw vectors another process wrote (a CLI ingest while serving), and image ids
  were reused: after a \`remove\` of the newest image, the next new one got its id, and the server
  (and later the saved index, whose fingerprint of count, id sum and latest write could not tell)
  answered with the deleted image's vector under it. Ids are never reused now (schema 3); every
  vector write bumps a change count in the database that the index records and catches up from;
  the server polls it each second; only the writer-lock holder saves the index, and read-only
  commands never rewrite it.
- Ingesting a folder that holds the library ingested the library's own thumbnails (5, 10, 15
  images after three runs over 5 files). The walk never enters the library folder now.
- A file refused by the decode timeout or the pixel cap was cached as bad for good, even after the
  limit was raised as its message advised; and \`--decode-timeout 3000000\` overflowed the timer to
  1 ms and failed every file. Failures record the limit that caused them and are retried once it
  is raised; out-of-range timeouts are refused.
- Any error while opening a library (a database from a newer matsearch, a garbage database file, a
  full disk, the index file replaced by a folder) left the encoder's worker threads running: the
  command printed its error and never exited; \`serve\` on a full disk ignored SIGTERM (its last
  index save failed, and nothing after it was closed). Every exit path now closes the store, the
  index and the encoder. The index worker reported a full disk as a broken index (503 E_INDEX);
  it now keeps the system's code (ENOSPC: 507), and a delete whose index save fails after its
  commit answers 204 (the index is repaired at the next open) instead of an error.
- With no API key, any web page could make a visitor's browser upload (multipart form) or start
  an ingest (a text/plain body was read as \`{}\`), and a page re-pointing its own name at
  127.0.0.1 could read every answer. Writes now need this server's own origin (or one given to
  \`--cors\`), JSON routes take only JSON, and only the server's Host names are served.
- A link inside a root to a file outside hid the original but served its thumbnail, metadata and
  path; a bad Content-Encoding or charset was a 500 with a stack trace; ids such as \`0x10\`,
  \`1e2\` and \`+1\` were accepted; \`--api-key ""\` silently served without a key; a thumbnail
  whose image was deleted mid-request was a 500; a full disk during an upload named the server's
  library folder.
- Every search at a new Mix'n'Match width spec kept its exported model and ONNX sessions for good
  (about 6 MB each: 300 distinct specs took a server from 222 MB to 2 GB). Exports now live in a
  least-recently-used cache with a 16 MiB budget that also drops their worker sessions
  (\`test/runtime/encoder-cache.test.ts\`; RSS flat after 1,000 specs, below).
- A search slot was taken before the request body was read, and the server set no header, body
  or idle timeouts: two clients sending a byte every 2 s held every slot. Bodies are now read and
  size-checked first, and slow bodies cut off with 408 (\`slow-clients\`).
- A maximal similar-search (k 1000 of a 10,000 shortlist) blocked the event loop for seconds
  (per-item database reads, a quadratic dedupe), and every delete or upload rewrote and hashed the
  whole index on it. Reads are batched, the rerank yields, and saves run in the index worker in
  the background (\`responsive\`).
- The decode timeout abandoned a file but not its decode: libvips went on decoding slow SVGs and
  whole-frame PNGs, delaying every later file, and a search query's decode had no limit at all.
  Decodes that can be slow now run in decoder processes that are killed at the timeout, for
  ingest, uploads and queries (\`test/ingest/decode-limits.test.ts\`,
  \`test/ingest/decode-exit.test.ts\`).
- The pixel cap counted pixels, not bytes: a 4 MB 16-bit RGBA interlaced PNG at the 100 MP cap
  needed 1.8 GB, and one upload of many 40 MP files decoded them all. Decodes now have a per-file
  and a per-process byte budget, an upload over it is refused unread (413), and each file is
  decoded once for its thumbnail and model input (\`decode-memory\`,
  \`test/ingest/decode-limits.test.ts\`).

## Not covered

- A real power cut is not simulated (a killed process is). The database runs WAL with
  \`synchronous = FULL\` and an upload's file and folder are fsynced before the commit that
  acknowledges it, so what was acknowledged is on disk, if the disk honours fsync. Thumbnails and
  index files are not fsynced: after a power cut a thumbnail may be missing (its image stays
  searchable), and a damaged index fails its checksum and is rebuilt.
- Damage to an index after it was loaded (memory errors) is not detected; index files saved
  before checksums were kept are trusted until their next save.
- Leftover thumbnails of interrupted writes are not swept (they are keyed by content and unused).
`;

writeFileSync(to, doc);
console.log(`wrote ${to}`);
