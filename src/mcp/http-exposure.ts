/**
 * Who may reach `troupe serve`, decided before any MCP machinery runs: whether a bind address is
 * safe to start on, and whether one request's `Host` and `Origin` are allowed.
 *
 * `Host` and `Origin` are client-controlled. On loopback they defend against DNS rebinding (a web
 * page that resolves its own name to 127.0.0.1); off loopback anybody can send `Host: localhost`,
 * so there the allowed names come from an explicit list, a loopback name is honoured only from a
 * loopback peer, and the bearer token is the real guard (a server off loopback without one refuses
 * to start unless told otherwise).
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The names a loopback server answers to by default. */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** True for 127.0.0.0/8, ::1, their IPv4-mapped forms, and `localhost`. */
export function isLoopback(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** True for the any-address binds (every interface). */
export function isWildcard(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  return bare === '' || bare === '0.0.0.0' || bare === '::' || bare === '0:0:0:0:0:0:0:0';
}

export interface ExposurePlan {
  /** The bind address. */
  readonly host: string;
  readonly tokenRequired: boolean;
  /** Serve off loopback without a token anyway (`--insecure-no-token`). */
  readonly allowNoToken?: boolean;
  /** The explicit list of names clients use (`--allowed-hosts`), if given. */
  readonly allowedHosts?: readonly string[];
}

/** Why this bind must not start, in one line (both reasons, when both hold); `undefined` when it may. */
export function exposureProblem(plan: ExposurePlan): string | undefined {
  if (isLoopback(plan.host)) return undefined;
  const noToken = !plan.tokenRequired && plan.allowNoToken !== true;
  const noHosts =
    isWildcard(plan.host) && (plan.allowedHosts === undefined || plan.allowedHosts.length === 0);
  const token =
    'set TROUPE_TOKEN or TROUPE_TOKENS, or pass --insecure-no-token to let anyone who can reach it call models and read files';
  const hosts =
    'name the hosts clients use to reach this server (e.g. --allowed-hosts mcp.example.com,10.0.0.5)';
  if (noToken && noHosts)
    return `refusing to serve on ${plan.host} (not loopback) without a token or --allowed-hosts: ${token}; and ${hosts}`;
  if (noToken) return `refusing to serve on ${plan.host} (not loopback) without a token: ${token}`;
  if (noHosts) return `refusing to serve on ${plan.host} without --allowed-hosts: ${hosts}`;
  return undefined;
}

export interface RequestGuard {
  /** Why the request is refused (403), or `undefined` to go on. */
  check(req: IncomingMessage): string | undefined;
}

/**
 * The Host/Origin check for one server. On loopback: loopback names (and the bind address) unless
 * a list is given. Off loopback: the bind address when it is not a wildcard, plus the list.
 * Origins default to the same names. A loopback name passes only from a loopback peer.
 */
export function requestGuard(options: {
  readonly host: string;
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
}): RequestGuard {
  const loopback = isLoopback(options.host);
  const own = isWildcard(options.host) ? [] : [options.host];
  const hosts = new Set(
    (options.allowedHosts ?? (loopback ? [...LOOPBACK_NAMES, ...own] : own)).map(normalizeName),
  );
  const origins = new Set(
    (options.allowedOrigins ?? (loopback ? LOOPBACK_NAMES : [...hosts])).map(normalizeName),
  );
  return {
    check(req) {
      const host = req.headers.host;
      const hostname = host === undefined ? undefined : hostnameOf(`http://${host}`);
      if (hostname === undefined || !hosts.has(hostname)) {
        return `Forbidden: Host ${JSON.stringify(host ?? '')} is not an allowed host`;
      }
      const peer = req.socket.remoteAddress ?? '';
      if (isLoopback(hostname) && !isLoopback(peer)) {
        return `Forbidden: Host ${JSON.stringify(host)} names this machine but the request came from ${peer}`;
      }
      const origin = req.headers.origin;
      if (origin !== undefined) {
        const name = hostnameOf(origin);
        if (name === undefined || !origins.has(name)) {
          return `Forbidden: Origin ${JSON.stringify(origin)} is not an allowed origin`;
        }
      }
      return undefined;
    },
  };
}

function hostnameOf(url: string): string | undefined {
  try {
    return normalizeName(new URL(url).hostname);
  } catch {
    return undefined;
  }
}

/** Lower case, IPv6 without brackets, so `[::1]` and `::1` are one name. */
function normalizeName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
}
