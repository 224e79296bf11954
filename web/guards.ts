/**
 * What a web page on another site can make a visitor's browser send here, and the checks that
 * refuse it:
 *   - DNS rebinding: a page whose own name the attacker re-points at 127.0.0.1 reaches this
 *     server under that name, and as the same origin may read every answer. So a request is
 *     served only under a Host name the server answers to: localhost (and *.localhost, which
 *     browsers resolve to loopback themselves), any IP address (an address cannot be re-pointed:
 *     a page at it is served by that machine), the name given to --host, and --allowed-host names.
 *     The port is not compared: tunnels and port forwarding change it, and it is the name that a
 *     rebinding attacker controls.
 *   - Cross-site request forgery: any page may POST a form or a text/plain body without asking.
 *     A request that is not GET, HEAD or OPTIONS must come from this server's own pages (Origin
 *     equal to the Host it was sent to), from an origin allowed with --cors, or from no browser at
 *     all (no Origin header: curl, scripts, the CLI). JSON routes take only JSON bodies.
 */
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { ApiError } from './errors.js';

/** Who may be served: exact names, `.suffix` for a domain and its subdomains, `*` for any. */
export interface HostPolicy {
  readonly names: ReadonlySet<string>;
  readonly suffixes: readonly string[];
  readonly any: boolean;
}

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/** The names a server bound to `bind` answers to, plus `allowed` (see the file comment). */
export function hostPolicy(bind: string | undefined, allowed: readonly string[] = []): HostPolicy {
  const given = allowed.map((a) => a.trim().toLowerCase().replace(/\.$/, '')).filter(Boolean);
  const names = new Set(given.filter((a) => !a.startsWith('.') && a !== '*'));
  if (bind && !WILDCARD_BINDS.has(bind) && !isIP(bind)) names.add(bind.toLowerCase());
  return {
    names,
    suffixes: given.filter((a) => a.startsWith('.')),
    any: given.includes('*'),
  };
}

/** A Host header split into its name (lower case, IPv6 unbracketed) and port; undefined if malformed. */
export function parseHost(header: string): { name: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?))(?::(\d{1,5}))?$/i.exec(
    header,
  );
  if (!m) return undefined;
  const name = (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
  if (m[1] !== undefined && isIP(name) !== 6) return undefined;
  return { name, port: m[3] === undefined ? undefined : Number(m[3]) };
}

export function hostAllowed(p: HostPolicy, name: string): boolean {
  return (
    p.any ||
    isIP(name) !== 0 ||
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    p.names.has(name) ||
    p.suffixes.some((s) => name.endsWith(s) || name === s.slice(1))
  );
}

/** Refuses (403) a request whose Host header is not a name the server answers to. */
export function hostCheck(p: HostPolicy): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.host;
    if (header === undefined) return next(); // HTTP/1.0 without Host: no browser sends that
    const host = parseHost(header);
    if (host && hostAllowed(p, host.name)) return next();
    const shown = JSON.stringify(header.slice(0, 100));
    next(
      new ApiError(
        'E_FORBIDDEN',
        `this server does not answer to the host name ${shown}; to reach it under that name, start it with --allowed-host ${host?.name ?? 'NAME'}`,
      ),
    );
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when `origin` is the origin the request was addressed to (its Host header). */
function sameOrigin(origin: string, hostHeader: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // 'null' (a sandboxed frame, a file:// page) or garbage
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const host = hostHeader === undefined ? undefined : parseHost(hostHeader);
  if (!host) return false;
  const standard = url.protocol === 'https:' ? 443 : 80;
  const originName = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return originName === host.name && Number(url.port || standard) === (host.port ?? standard);
}

/**
 * Refuses (403) a state-changing request sent by a page of another origin than this server's
 * or the `cors` ones ('*': any). A request with no Origin header passes unless the browser's
 * Sec-Fetch-Site says it came from another site.
 */
export function originCheck(cors: readonly string[] = []): RequestHandler {
  const any = cors.includes('*');
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = req.headers.origin;
    if (origin === undefined) {
      const site = req.headers['sec-fetch-site'];
      if (site === undefined || site === 'same-origin' || site === 'none') return next();
      return next(refused(req.method, `a ${site} page`));
    }
    if (any || cors.includes(origin) || sameOrigin(origin, req.headers.host)) return next();
    next(refused(req.method, `the page at ${JSON.stringify(origin.slice(0, 100))}`));
  };
}

function refused(method: string, who: string): ApiError {
  return new ApiError(
    'E_FORBIDDEN',
    `a ${method} from ${who} is refused: writes come from this server's own pages, from clients that are not browsers, or from an origin the server allows with --cors ORIGIN`,
  );
}

/** Refuses (415) a body that is not JSON on a JSON route; no body at all is left to the route. */
export const jsonOnly: RequestHandler = (req, _res, next) => {
  if (req.is('application/json') !== false) return next(); // JSON, or no body
  next(
    new ApiError(
      'E_UNSUPPORTED_MEDIA',
      'body: send JSON, with the header Content-Type: application/json',
      'body',
    ),
  );
};
