/**
 * `node --import` this file to log every module a process loads, one resolved URL or path a
 * line, to $MATSEARCH_LOAD_LOG: ESM imports through a resolve hook, CommonJS `require` calls
 * (packages load native addons that way) by wrapping Module._load, and each worker thread's start
 * (`worker <entry>`) by wrapping the Worker class. Worker threads inherit it.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import * as threads from 'node:worker_threads';

const log = process.env['MATSEARCH_LOAD_LOG'];
if (log) {
  register('./load-recorder-hooks.js', import.meta.url);
  const Module = createRequire(import.meta.url)('node:module') as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
    _resolveFilename: (request: string, parent: unknown) => string;
  };
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    let where = request;
    try {
      where = Module._resolveFilename(request, parent);
    } catch {
      // a builtin or a failing require: log the request itself
    }
    appendFileSync(log, `${where}\n`);
    return load.call(this, request, parent, isMain);
  };
  // A worker thread's start, logged in order with the loads: `worker <its entry URL>`.
  const wt = createRequire(import.meta.url)('node:worker_threads') as typeof threads;
  const Base = wt.Worker;
  const file = log;
  wt.Worker = class extends Base {
    constructor(...args: ConstructorParameters<typeof threads.Worker>) {
      appendFileSync(file, `worker ${String(args[0])}\n`);
      super(...args);
    }
  };
  syncBuiltinESMExports();
}
