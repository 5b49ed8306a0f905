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

/**
 * What to set, in the words of who starts the server: `troupe serve`'s environment and flags, or
 * `createHttpApp`'s options. Any one token counts, the admin's alone too (`tokensFromEnv`).
 */
const FIXES = {
  serve: {
    token:
      'set TROUPE_TOKEN, TROUPE_TOKENS or TROUPE_ADMIN_TOKEN (any one is enough: every request then needs one of the tokens set, so with the admin token alone only its holder can call), or pass --insecure-no-token to let anyone who can reach it call models and read files',
    hostsFlag: '--allowed-hosts',
    hosts: 'name the hosts clients use to reach this server (e.g. --allowed-hosts mcp.example.com,10.0.0.5)',
  },
  code: {
    token:
      'pass `token` or `tokens` (any one is enough, an `admin: true` entry alone too: every request then needs one of them), or `allowNoToken: true` to let anyone who can reach it call models and read files',
    hostsFlag: '`allowedHosts`',
    hosts:
      "name the hosts clients use to reach this server (e.g. allowedHosts: ['mcp.example.com', '10.0.0.5'])",
  },
} as const;

/**
 * Why this bind must not start, in one line (both reasons, when both hold), in the words of
 * `speaker`; `undefined` when it may.
 */
export function exposureProblem(
  plan: ExposurePlan,
  speaker: keyof typeof FIXES = 'serve',
): string | undefined {
  if (isLoopback(plan.host)) return undefined;
  const noToken = !plan.tokenRequired && plan.allowNoToken !== true;
  const noHosts =
    isWildcard(plan.host) && (plan.allowedHosts === undefined || plan.allowedHosts.length === 0);
  const { token, hostsFlag, hosts } = FIXES[speaker];
  if (noToken && noHosts)
    return `refusing to serve on ${plan.host} (not loopback) without a token or ${hostsFlag}: ${token}; and ${hosts}`;
  if (noToken) return `refusing to serve on ${plan.host} (not loopback) without a token: ${token}`;
  if (noHosts) return `refusing to serve on ${plan.host} without ${hostsFlag}: ${hosts}`;
  return undefined;
}

export interface RequestGuard {
  /** Why the request is refused (403), or `undefined` to go on. */
  check(req: IncomingMessage): string | undefined;
}

/**
 * The Host/Origin check for one server. On loopback: loopback names (and the bind address) unless
 * a list is given. Off loopback: the bind address when it is not a wildcard, plus the list.
 * A loopback name passes only from a loopback peer.
 *
 * `Origin`: always a page of this server's own (`http://` an allowed host, at the port the request
 * came in on), and `allowedOrigins`: an entry with a scheme (`http://localhost:6274`) is that origin
 * exactly, one without (`app.example.com`) that name on any scheme and port, as the MCP SDK's
 * `originValidation` takes names. Without the list: nothing more on loopback (any port of a
 * loopback name passed until 2026-12-05, so a page another local server showed, say
 * `http://localhost:3000`, passed as troupe's own); off loopback the allowed hosts on any port (a
 * proxy in front serves pages on its own port; the token guards there).
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
  const listed = options.allowedOrigins;
  const exact = new Set(listed?.filter((o) => o.includes('://')).map(originOf));
  exact.delete('');
  const names = new Set(
    (listed === undefined ? (loopback ? [] : [...hosts]) : listed.filter((o) => !o.includes('://'))).map(
      normalizeName,
    ),
  );
  const originAllowed = (origin: string, req: IncomingMessage): boolean => {
    const name = hostnameOf(origin);
    if (name === undefined) return false;
    if (names.has(name) || exact.has(originOf(origin))) return true;
    // This server's own page: plain http (troupe serves no TLS) at the port it was reached on.
    const url = new URL(origin);
    return url.protocol === 'http:' && hosts.has(name) && (url.port || '80') === String(req.socket.localPort);
  };
  return {
    check(req) {
      const host = req.headers.host;
      const hostname = host === undefined ? undefined : hostnameOf(`http://${host}`);
      if (hostname === undefined || !hosts.has(hostname)) {
        const fix =
          hostname === undefined ? '' : `; to take it, add ${hostname} to --allowed-hosts (docs/security.md)`;
        return `Forbidden: Host ${JSON.stringify(host ?? '')} is not an allowed host${fix}`;
      }
      const peer = req.socket.remoteAddress ?? '';
      if (isLoopback(hostname) && !isLoopback(peer)) {
        return `Forbidden: Host ${JSON.stringify(host)} names this machine but the request came from ${peer}`;
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !originAllowed(origin, req)) {
        return `Forbidden: Origin ${JSON.stringify(origin)} is not an allowed origin: only this server's own pages and those --allowed-origins names`;
      }
      return crossSiteProblem(req, origin);
    },
  };
}

/**
 * A request another site's page made without an `Origin`: an `<img>`, `<script>` or `<link>` (the
 * browser's no-cors requests carry none, so the Origin check never saw them). It reads nothing (the
 * browser hides the answer), but until 2026-12-07 each still reached its route: any page open in
 * the browser could hold `/events` streams, places of the 32, or make the server build
 * `/api/status` and `/metrics` in a loop. A browser says where a request came from in
 * `Sec-Fetch-Site`; a navigation (`Sec-Fetch-Mode: navigate`, a link to the dashboard) is taken,
 * as are programs, which send neither header.
 */
function crossSiteProblem(req: IncomingMessage, origin: string | undefined): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (origin !== undefined || (site !== 'cross-site' && site !== 'same-site')) return undefined;
  const mode = req.headers['sec-fetch-mode'];
  if (mode === 'navigate') return undefined;
  return `Forbidden: a page of another site made this request (Sec-Fetch-Site: ${site}, Sec-Fetch-Mode: ${mode ?? 'none'}) without an Origin: only this server's own pages and those --allowed-origins names, which send one`;
}

/**
 * `--allowed-origins`, comma-separated: each entry an origin (`http://localhost:6274`) or a host
 * name (`app.example.com`, `[::1]`). The list, or why it is refused (an entry that is neither,
 * such as `localhost:6274`, which would otherwise never match).
 */
export function originList(raw: string): { readonly list: string[] } | { readonly problem: string } {
  const list = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (list.length === 0) return { problem: `to name at least one origin (comma-separated), got \`${raw}\`` };
  const bad = list.find((entry) => (entry.includes('://') ? !isOriginText(entry) : !NAME.test(entry)));
  if (bad === undefined) return { list };
  return {
    problem: `entries to be an origin (http://localhost:6274) or a host name (app.example.com), got \`${bad}\``,
  };
}

// `null` (the opaque origin of sandboxed and file pages) is no name: listing it would let them all in.
const NAME = /^(?!null$)(([a-z0-9-]+\.)*[a-z0-9-]+|\[[0-9a-f:.]+\])$/i;

/** An http(s) origin and nothing more: no path, query or credentials. */
function isOriginText(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      /^https?:$/.test(url.protocol) &&
      `${url.origin}/` === `${url.protocol}//${url.host}${url.pathname}` &&
      url.search === '' &&
      url.hash === '' &&
      url.username === '' &&
      !text.endsWith('?')
    );
  } catch {
    return false;
  }
}

/** `scheme://host[:port]` as the URL standard writes it (default ports dropped), or '' when unparsable. */
function originOf(url: string): string {
  try {
    return new URL(url.trim()).origin.toLowerCase();
  } catch {
    return '';
  }
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
