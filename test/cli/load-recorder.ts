/**
 * `node --import` this file to log every module a process loads, one resolved URL or path a
 * line, to $MATSEARCH_LOAD_LOG: ESM imports through a resolve hook, CommonJS `require` calls
 * (packages load native addons that way) by wrapping Module._load. Worker threads inherit it.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

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
}
