/**
 * The pure parts of issue 16's exposure rules: bind checks, the Host/Origin guard with a spoofed
 * `Host: localhost` from a remote peer, token parsing, callers, and the stdio line check.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import {
  authInfoFor,
  callerOf,
  canSee,
  operatorPagesUnread,
  operatorRefusal,
} from '../../../src/mcp/caller.js';
import { authenticate, tokensFromEnv } from '../../../src/mcp/http-auth.js';
import { jsonDepth } from '../../../src/mcp/http-body.js';
import { exposureProblem, isLoopback, originList, requestGuard } from '../../../src/mcp/http-exposure.js';
import { checkLine, guardStdin, idAtEdges } from '../../../src/mcp/stdio-guard.js';

const req = (headers: Record<string, string>, remoteAddress: string, localPort = 7801) =>
  ({
    headers,
    rawHeaders: Object.entries(headers).flat(),
    socket: { remoteAddress, localPort },
  }) as unknown as IncomingMessage;

describe('bind checks', () => {
  it('knows loopback from the rest', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost'])
      expect(isLoopback(a)).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'example.com'])
      expect(isLoopback(a)).toBe(false);
  });

  it('refuses off loopback without a token unless told, and a wildcard without a host list', () => {
    expect(exposureProblem({ host: '127.0.0.1', tokenRequired: false })).toBeUndefined();
    expect(exposureProblem({ host: '10.0.0.5', tokenRequired: false })).toMatch(/without a token/);
    expect(exposureProblem({ host: '10.0.0.5', tokenRequired: false, allowNoToken: true })).toBeUndefined();
    expect(exposureProblem({ host: '10.0.0.5', tokenRequired: true })).toBeUndefined();
    expect(exposureProblem({ host: '0.0.0.0', tokenRequired: true })).toMatch(/--allowed-hosts/);
    // Both missing: both said at once (one was said per start, so the fix took two tries).
    expect(exposureProblem({ host: '0.0.0.0', tokenRequired: false })).toBe(
      'refusing to serve on 0.0.0.0 (not loopback) without a token or --allowed-hosts: set TROUPE_TOKEN, TROUPE_TOKENS or TROUPE_ADMIN_TOKEN (any one is enough: every request then needs one of the tokens set, so with the admin token alone only its holder can call), or pass --insecure-no-token to let anyone who can reach it call models and read files; and name the hosts clients use to reach this server (e.g. --allowed-hosts mcp.example.com,10.0.0.5)',
    );
    expect(exposureProblem({ host: '::', tokenRequired: true, allowedHosts: ['a.test'] })).toBeUndefined();
  });

  // Until 2026-12-07 the refusal named TROUPE_TOKEN and TROUPE_TOKENS alone, though the admin
  // token alone is a token too (serve counts every token `tokensFromEnv` gives).
  it('counts the admin token alone as a token, and says so', () => {
    const tokens = tokensFromEnv({ TROUPE_ADMIN_TOKEN: 'Zq9-admin-token' });
    expect(tokens).toEqual([{ name: 'admin', token: 'Zq9-admin-token', admin: true }]);
    expect(exposureProblem({ host: '10.0.0.5', tokenRequired: tokens.length > 0 })).toBeUndefined();
    expect(exposureProblem({ host: '10.0.0.5', tokenRequired: false })).toBe(
      'refusing to serve on 10.0.0.5 (not loopback) without a token: set TROUPE_TOKEN, TROUPE_TOKENS or TROUPE_ADMIN_TOKEN (any one is enough: every request then needs one of the tokens set, so with the admin token alone only its holder can call), or pass --insecure-no-token to let anyone who can reach it call models and read files',
    );
  });

  // `createHttpApp` takes options, not the environment: its refusal names them.
  it('speaks `createHttpApp`’s options to code', () => {
    expect(exposureProblem({ host: '0.0.0.0', tokenRequired: false }, 'code')).toBe(
      "refusing to serve on 0.0.0.0 (not loopback) without a token or `allowedHosts`: pass `token` or `tokens` (any one is enough, an `admin: true` entry alone too: every request then needs one of them), or `allowNoToken: true` to let anyone who can reach it call models and read files; and name the hosts clients use to reach this server (e.g. allowedHosts: ['mcp.example.com', '10.0.0.5'])",
    );
    expect(exposureProblem({ host: '::', tokenRequired: true }, 'code')).toBe(
      "refusing to serve on :: without `allowedHosts`: name the hosts clients use to reach this server (e.g. allowedHosts: ['mcp.example.com', '10.0.0.5'])",
    );
  });
});

describe('Host and Origin', () => {
  it('on loopback: loopback names, from loopback peers', () => {
    const guard = requestGuard({ host: '127.0.0.1' });
    expect(guard.check(req({ host: 'localhost:7801' }, '127.0.0.1'))).toBeUndefined();
    expect(guard.check(req({ host: '[::1]:7801' }, '::1'))).toBeUndefined();
    expect(guard.check(req({ host: 'evil.test' }, '127.0.0.1'))).toMatch(/not an allowed host/);
    expect(guard.check(req({ host: 'localhost', origin: 'http://evil.test' }, '127.0.0.1'))).toMatch(
      /Origin/,
    );
  });

  it('on loopback takes an `Origin` of this server’s own pages only: a loopback name at another port is another server’s page', () => {
    // Until 2026-12-05 any port passed: a page served by another local dev server
    // (http://localhost:3000) could drive troupe at 127.0.0.1:7801 when no token was set.
    const guard = requestGuard({ host: '127.0.0.1' });
    const from = (origin: string) => guard.check(req({ host: '127.0.0.1:7801', origin }, '127.0.0.1'));
    for (const own of [
      'http://localhost:7801',
      'http://127.0.0.1:7801',
      'http://[::1]:7801',
      'HTTP://LocalHost:7801',
    ])
      expect(from(own), own).toBeUndefined();
    for (const other of [
      'http://localhost:3000',
      'http://127.0.0.1:6274',
      'http://localhost',
      'https://localhost:7801',
      'http://evil.test:7801',
      'null',
    ])
      expect(from(other), other).toBe(
        `Forbidden: Origin ${JSON.stringify(other)} is not an allowed origin: only this server's own pages and those --allowed-origins names`,
      );
    // The port is the one the request came in on (port 0 picks it at listen; port 80 has none written).
    expect(
      guard.check(req({ host: 'localhost', origin: 'http://localhost' }, '127.0.0.1', 80)),
    ).toBeUndefined();
    expect(
      guard.check(req({ host: 'localhost', origin: 'http://localhost:80' }, '127.0.0.1', 80)),
    ).toBeUndefined();
  });

  it('refuses what another site’s page asks without an `Origin` (an `<img>` or `<script>` of it), and takes a link followed to it', () => {
    // Until 2026-12-07 such a request reached its route: any page open in the browser could hold
    // `/events` streams of the 32, or have `/metrics` built in a loop, with no token set.
    const guard = requestGuard({ host: '127.0.0.1' });
    const from = (fetch: Record<string, string>) =>
      guard.check(req({ host: '127.0.0.1:7801', ...fetch }, '127.0.0.1'));
    for (const site of ['cross-site', 'same-site'])
      for (const mode of ['no-cors', 'cors', 'websocket'])
        expect(from({ 'sec-fetch-site': site, 'sec-fetch-mode': mode }), `${site} ${mode}`).toBe(
          `Forbidden: a page of another site made this request (Sec-Fetch-Site: ${site}, Sec-Fetch-Mode: ${mode}) without an Origin: only this server's own pages and those --allowed-origins names, which send one`,
        );
    expect(from({ 'sec-fetch-site': 'cross-site' })).toMatch(/Sec-Fetch-Mode: none\)/);
    // A link to the dashboard, the page's own requests, one typed in the address bar, a program.
    const taken: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'no-cors' },
      { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' },
      {},
    ];
    for (const ok of taken) expect(from(ok), JSON.stringify(ok)).toBeUndefined();
    // With an `Origin` the Origin check decides: an allowed page's fetch passes whatever the site.
    const listed = requestGuard({ host: '127.0.0.1', allowedOrigins: ['http://localhost:6274'] });
    const headers = { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' };
    expect(
      listed.check(req({ host: '127.0.0.1:7801', origin: 'http://localhost:6274', ...headers }, '127.0.0.1')),
    ).toBeUndefined();
  });

  it('takes the origins `allowedOrigins` names besides its own pages: an origin exactly, a bare name on any port', () => {
    const guard = requestGuard({
      host: '127.0.0.1',
      allowedOrigins: ['http://localhost:6274', 'App.Example.com'],
    });
    const from = (origin: string) => guard.check(req({ host: '127.0.0.1:7801', origin }, '127.0.0.1'));
    for (const ok of ['http://localhost:7801', 'http://localhost:6274', 'https://app.example.com:8443'])
      expect(from(ok), ok).toBeUndefined();
    for (const refused of [
      'http://localhost:6275',
      'https://localhost:6274',
      'http://127.0.0.1:6274',
      'null',
    ])
      expect(from(refused), refused).toMatch(/not an allowed origin/);
    // Off loopback the allowed hosts stay allowed on any port (a proxy in front shows pages on its own).
    const exposed = requestGuard({ host: '0.0.0.0', allowedHosts: ['mcp.example.com'] });
    expect(
      exposed.check(req({ host: 'mcp.example.com', origin: 'https://mcp.example.com' }, '10.1.2.3')),
    ).toBeUndefined();
  });

  it('reads `--allowed-origins` as origins or names and refuses what would never match', () => {
    expect(originList('http://localhost:6274, app.example.com,[::1],https://x.test/')).toEqual({
      list: ['http://localhost:6274', 'app.example.com', '[::1]', 'https://x.test/'],
    });
    for (const bad of [
      'localhost:6274',
      'http://x.test/app',
      'ftp://x.test',
      'http://u:p@x.test',
      'null',
      'http://x.test?a',
    ])
      expect(originList(`app.example.com,${bad}`), bad).toEqual({
        problem: `entries to be an origin (http://localhost:6274) or a host name (app.example.com), got \`${bad}\``,
      });
    expect(originList(' , ')).toEqual({
      problem: 'to name at least one origin (comma-separated), got ` , `',
    });
  });

  it('a refused `Host` says which name to add to --allowed-hosts', () => {
    // Until 2026-12-07 it said only "is not an allowed host": a Prometheus scraping the pod by
    // its IP (docs/operations.md) got a 403 that named no fix.
    const guard = requestGuard({ host: '0.0.0.0', allowedHosts: ['troupe-svc'] });
    expect(guard.check(req({ host: '10.1.2.3:7801' }, '10.9.9.9'))).toBe(
      'Forbidden: Host "10.1.2.3:7801" is not an allowed host; to take it, add 10.1.2.3 to --allowed-hosts (docs/security.md)',
    );
    expect(guard.check(req({}, '10.9.9.9'))).toBe('Forbidden: Host "" is not an allowed host');
  });

  it('off loopback: only the explicit list, and a spoofed `Host: localhost` from a remote peer gets nothing', () => {
    const guard = requestGuard({ host: '0.0.0.0', allowedHosts: ['mcp.example.com'] });
    expect(guard.check(req({ host: 'mcp.example.com' }, '10.1.2.3'))).toBeUndefined();
    expect(guard.check(req({ host: 'localhost' }, '10.1.2.3'))).toMatch(/not an allowed host/);
    expect(guard.check(req({ host: 'mcp.example.com', origin: 'http://localhost' }, '10.1.2.3'))).toMatch(
      /Origin/,
    );
    // Even a list that names localhost honours it only from this machine.
    const lax = requestGuard({ host: '0.0.0.0', allowedHosts: ['localhost', 'mcp.example.com'] });
    expect(lax.check(req({ host: 'localhost' }, '10.1.2.3'))).toMatch(/names this machine/);
    expect(lax.check(req({ host: 'localhost' }, '::ffff:127.0.0.1'))).toBeUndefined();
    expect(guard.check(req({}, '10.1.2.3'))).toMatch(/not an allowed host/);
  });
});

describe('tokens and callers', () => {
  it('reads TROUPE_TOKEN, TROUPE_TOKENS and TROUPE_ADMIN_TOKEN, and refuses malformed entries', () => {
    const tokens = tokensFromEnv({
      TROUPE_TOKENS: 'alice:aaaaaaaa, bob:bbbbbbbb',
      TROUPE_ADMIN_TOKEN: 'cccccccc',
    });
    expect(tokens.map((t) => [t.name, t.admin === true])).toEqual([
      ['alice', false],
      ['bob', false],
      ['admin', true],
    ]);
    // A bare token (no `:`) is not echoed, nor called a name "" with a token of 0 characters.
    expect(() => tokensFromEnv({ TROUPE_TOKENS: 'sk-bare-token-123' })).toThrow(
      'Expected TROUPE_TOKENS entries as name:token (name of letters, digits, _ . -; token of 8 or more printable ASCII characters, none of them whitespace), got entry 1 of 1 without ":" (17 characters, not shown)',
    );
    expect(() => tokensFromEnv({ TROUPE_TOKENS: 'a:short' })).toThrow(/8 or more/);
    expect(() => tokensFromEnv({ TROUPE_TOKENS: 'a:aaaaaaaa,a:bbbbbbbb' })).toThrow(/"a" twice/);
    // A `;` of the token's own is kept (generated tokens hold them); only `;name:` is refused.
    expect(tokensFromEnv({ TROUPE_TOKENS: 'alice:Xy7;kq9!Lm2p' })[0]?.token).toBe('Xy7;kq9!Lm2p');
  });

  it('holds every token to the same rule and refuses one token for two clients, never showing it', () => {
    // Before: only TROUPE_TOKENS entries were checked (TROUPE_ADMIN_TOKEN=x was an admin token);
    // a token with a space could never match `Bearer <token>`; and the first of two equal tokens
    // won, so bob's requests ran as alice and an admin token equal to TROUPE_TOKEN was no admin.
    const refusals: ReadonlyArray<readonly [NodeJS.ProcessEnv, string]> = [
      [
        { TROUPE_ADMIN_TOKEN: 'Zq' },
        'Expected TROUPE_ADMIN_TOKEN to be 8 or more printable ASCII characters, none of them whitespace, got a token of 2 characters (not shown)',
      ],
      [
        { TROUPE_TOKEN: 'Zq9shar' },
        'Expected TROUPE_TOKEN to be 8 or more printable ASCII characters, none of them whitespace, got a token of 7 characters (not shown)',
      ],
      [
        { TROUPE_TOKEN: 'Zq9 shared token' },
        'Expected TROUPE_TOKEN to be 8 or more printable ASCII characters, none of them whitespace, got a token of 16 characters with whitespace in it (not shown)',
      ],
      [
        { TROUPE_TOKENS: 'alice:Zq9 alice token' },
        'got entry 1 of 1 with name "alice" and a token of 15 characters with whitespace in it (not shown)',
      ],
      // A request's header is read byte by byte (Latin-1): a client sends `€` as its UTF-8 bytes,
      // which never read back as `€`, so until 2026-12-07 such a token refused every request.
      [
        { TROUPE_TOKEN: 'Zq9€shared' },
        'Expected TROUPE_TOKEN to be 8 or more printable ASCII characters, none of them whitespace, got a token of 10 characters with a character outside printable ASCII in it (not shown)',
      ],
      [
        { TROUPE_TOKENS: 'alice:Zq9tökentoken' },
        'got entry 1 of 1 with name "alice" and a token of 13 characters with a character outside printable ASCII in it (not shown)',
      ],
      [
        { TROUPE_ADMIN_TOKEN: 'Zq9\u0001adminadmin' },
        'Expected TROUPE_ADMIN_TOKEN to be 8 or more printable ASCII characters, none of them whitespace, got a token of 14 characters with a character outside printable ASCII in it (not shown)',
      ],
      // Written token:name, the token was shown as the entry's name (audit, 2026-12-04).
      [
        { TROUPE_TOKENS: 'alice:aaaaaaaa,Zq9-reversed-123456:bob' },
        'got entry 2 of 2 with a name of 19 characters (not shown: it could be a token) and a token of 3 characters (not shown)',
      ],
      // `;` for `,`: one token for alice, and bob's clients refused with no word why.
      [
        { TROUPE_TOKENS: 'alice:Zq9aaaaaa;bob:Zq9bbbbbb' },
        'Expected TROUPE_TOKENS entries separated by commas (name:token,name:token), got entry 1 of 1 (name "alice") with ";name:" in its token (not shown)',
      ],
      [
        { TROUPE_TOKENS: 'alice:Zq9aaaaaa,bob:Zq9aaaaaa' },
        'Expected a different token for each client, got one token for "alice" (TROUPE_TOKENS) and "bob" (TROUPE_TOKENS)',
      ],
      [
        { TROUPE_TOKEN: 'Zq9aaaaaa', TROUPE_ADMIN_TOKEN: 'Zq9aaaaaa' },
        'got one token for TROUPE_TOKEN and TROUPE_ADMIN_TOKEN',
      ],
      [
        { TROUPE_TOKENS: 'ops:Zq9aaaaaa', TROUPE_ADMIN_TOKEN: 'Zq9aaaaaa' },
        'got one token for "ops" (TROUPE_TOKENS) and TROUPE_ADMIN_TOKEN',
      ],
    ];
    for (const [env, message] of refusals) {
      let error: unknown;
      try {
        tokensFromEnv(env);
      } catch (e) {
        error = e;
      }
      expect((error as Error | undefined)?.message, JSON.stringify(env)).toContain(message);
      expect((error as Error).message).not.toContain('Zq');
    }
  });

  it('authenticates with any scheme case and maps tokens to scopes', () => {
    const tokens = tokensFromEnv({ TROUPE_TOKEN: 'shared-1', TROUPE_TOKENS: 'alice:aaaaaaaa' });
    expect(authenticate(req({ authorization: 'bEaReR aaaaaaaa' }, ''), tokens)?.name).toBe('alice');
    expect(authenticate(req({ authorization: 'Bearer aaaaaaa' }, ''), tokens)).toBeUndefined();
    expect(authenticate(req({ authorization: 'Token aaaaaaaa' }, ''), tokens)).toBeUndefined();
    const auth = (clientId: string, troupeScope: string) => ({
      authInfo: { token: '', clientId, scopes: [], extra: { troupeScope } },
    });
    const alice = callerOf({ http: auth('alice', 'token') });
    expect(alice).toEqual({ key: 'token:alice', admin: false });
    expect(callerOf({ sessionId: 's1', http: auth('default', 'session') }).key).toBe('mcp:s1');
    expect(callerOf({ http: auth('anonymous', 'session') }).key).toBe('anonymous');
    expect(callerOf({}).key).toBe('local');
    // The user an embedding server names (`extra.troupeCaller`), hashed past 200 characters so the
    // owner stays within what submit takes (256); not its clientId, which OAuth gives the app.
    const embedded = (user?: string, sessionId?: string) => ({
      ...(sessionId === undefined ? {} : { sessionId }),
      http: {
        authInfo: {
          token: 't',
          clientId: 'app',
          scopes: [],
          ...(user === undefined ? {} : { extra: { troupeCaller: user } }),
        },
      },
    });
    expect(callerOf(embedded('alice')).key).toBe('user:alice');
    expect(callerOf(embedded('alice', 's1')).key).toBe('user:alice');
    // One app, two users without troupeCaller: two MCP sessions, two callers (as before).
    expect(callerOf(embedded(undefined, 's1')).key).toBe('mcp:s1');
    expect(callerOf(embedded(undefined, 's2')).key).toBe('mcp:s2');
    expect(callerOf(embedded(undefined)).key).toBe('anonymous');
    const long = callerOf(embedded('x'.repeat(5000))).key;
    expect(long).toMatch(/^user:sha256:[\w-]{43}$/);
    expect(callerOf(embedded(`${'x'.repeat(4999)}y`)).key).not.toBe(long);
    expect(callerOf(embedded('x'.repeat(200))).key).toBe(`user:${'x'.repeat(200)}`);
    expect(callerOf(embedded(undefined, 's'.repeat(300))).key).toMatch(/^mcp:sha256:/);
    // An id shaped as another's hashed key is hashed itself: a user cannot take a long id's scope.
    const shaped = callerOf(embedded(long.slice('user:'.length))).key;
    expect(shaped).toMatch(/^user:sha256:[\w-]{43}$/);
    expect(shaped).not.toBe(long);
    // A lone surrogate is no character UTF-8 can carry: SHA-256 of the id's UTF-8 read each as
    // U+FFFD, and Redis keys are UTF-8, so ids that differed only there were one caller (both
    // users saw and cancelled each other's calls and continued each other's conversations).
    const lone = (tail: string) => callerOf(embedded(`${'x'.repeat(300)}${tail}`)).key;
    expect(lone('\ud800')).not.toBe(lone('\ud801'));
    expect(lone('\ud800')).not.toBe(lone('\ufffd'));
    expect(lone('\udc00')).not.toBe(lone('\ufffd'));
    const short = callerOf(embedded('bob\ud800')).key;
    expect(short).toMatch(/^user:sha256:[\w-]{43}$/);
    expect(short).not.toBe(callerOf(embedded('bob\ufffd')).key);
    expect(short).not.toBe(callerOf(embedded('bob\udbff')).key);
    // A well-formed pair is a character: kept as it is, as before.
    expect(callerOf(embedded('bob\ud83d\ude00')).key).toBe('user:bob\ud83d\ude00');
    expect(canSee(alice, 'token:alice')).toBe(true);
    expect(canSee(alice, 'token:bob')).toBe(false);
    expect(canSee(alice, undefined)).toBe(false);
    expect(canSee({ key: 'token:ops', admin: true }, 'token:bob')).toBe(true);
  });
});

describe('the shared token is marked, not told by its name', () => {
  it('scopes a TROUPE_TOKENS entry named `default` by its name and keeps it off the operator pages', () => {
    // Before: any token named `default` was taken for the shared TROUPE_TOKEN, so this client was
    // told apart by MCP session only and saw every client's sessions on the dashboard.
    const [named] = tokensFromEnv({ TROUPE_TOKENS: 'default:dddddddd' });
    const auth = authInfoFor(named);
    expect(auth.extra).toEqual({ troupeScope: 'token' });
    expect(callerOf({ sessionId: 's1', http: { authInfo: auth } }).key).toBe('token:default');
    expect(operatorRefusal(auth, true)).toMatch(/needs the admin token/);

    const [shared] = tokensFromEnv({ TROUPE_TOKEN: 'shared-1' });
    expect(shared).toMatchObject({ name: 'default', shared: true });
    const sharedAuth = authInfoFor(shared);
    expect(callerOf({ sessionId: 's1', http: { authInfo: sharedAuth } }).key).toBe('mcp:s1');
    expect(operatorRefusal(sharedAuth, false)).toBeUndefined();
    expect(() => tokensFromEnv({ TROUPE_TOKEN: 'shared-1', TROUPE_TOKENS: 'default:dddddddd' })).toThrow(
      /"default" twice/,
    );
  });
});

describe('the operator pages beside named tokens', () => {
  const [shared, alice, admin] = tokensFromEnv({
    TROUPE_TOKEN: 'shared-1',
    TROUPE_TOKENS: 'alice:alice-token-1',
    TROUPE_ADMIN_TOKEN: 'admin-token-1',
  }).map(authInfoFor);

  it('answer only the admin token once named tokens exist; the shared token alone is the operator’s', () => {
    // Before 2026-12-08 the shared token read them beside named tokens too: their session and model ids.
    expect(operatorRefusal(shared, true)).toBe(
      "Forbidden: this page shows every client's work, so on a server with named tokens (TROUPE_TOKENS) it needs the admin token (TROUPE_ADMIN_TOKEN), got the shared token (TROUPE_TOKEN), which serves /mcp only; read your own sessions with the `sessions` tool",
    );
    expect(operatorRefusal(shared, false)).toBeUndefined();
    expect(operatorRefusal(alice, true)).toBe(
      "Forbidden: this page shows every client's work, so it needs the admin token (TROUPE_ADMIN_TOKEN), got the token of `alice`; read your own sessions with the `sessions` tool",
    );
    expect(operatorRefusal(admin, true)).toBeUndefined();
    expect(operatorRefusal(authInfoFor(undefined), false)).toBeUndefined();
  });

  it('say at the start when nobody can read them: named tokens and no admin token', () => {
    const unread = (env: NodeJS.ProcessEnv) => operatorPagesUnread(tokensFromEnv(env));
    expect(unread({ TROUPE_TOKENS: 'alice:alice-token-1', TROUPE_TOKEN: 'shared-1' })).toBe(
      'the dashboard (/, /events), /api/status and /metrics answer only TROUPE_ADMIN_TOKEN beside TROUPE_TOKENS, and it is not set: set it to read them',
    );
    expect(unread({ TROUPE_TOKENS: 'alice:alice-token-1' })).toMatch(/answer only TROUPE_ADMIN_TOKEN/);
    expect(
      unread({ TROUPE_TOKENS: 'alice:alice-token-1', TROUPE_ADMIN_TOKEN: 'admin-token-1' }),
    ).toBeUndefined();
    expect(unread({ TROUPE_TOKEN: 'shared-1' })).toBeUndefined();
    expect(unread({ TROUPE_ADMIN_TOKEN: 'admin-token-1' })).toBeUndefined();
    expect(unread({})).toBeUndefined();
  });
});

describe('JSON nesting and stdio lines', () => {
  it('measures nesting without parsing, ignoring brackets in strings', () => {
    expect(jsonDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonDepth('{"a":"[[[[\\"[["}')).toBe(1);
    expect(jsonDepth('['.repeat(100_000))).toBe(100_000);
  });

  it('answers each bad stdio line with the JSON-RPC error and passes good lines on', async () => {
    const input = new PassThrough();
    const answers: string[] = [];
    const out = guardStdin(input, (line) => answers.push(line), { maxLineBytes: 1000 });
    const passed: string[] = [];
    out.on('data', (d: Buffer) => passed.push(d.toString()));
    input.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{not json\n');
    input.write(`${'['.repeat(100)}${']'.repeat(100)}\n42\n`);
    input.write(`${'x'.repeat(600)}`);
    input.write(`${'x'.repeat(600)}\n\n{"jsonrpc":"2.0","id":2,"method":"ping"}\r\n`);
    await new Promise((r) => setImmediate(r));
    expect(passed.join('')).toBe(
      '{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n',
    );
    const errors = answers.map(
      (a) => JSON.parse(a) as { id: null; error: { code: number; message: string } },
    );
    expect(errors.map((e) => [e.id, e.error.code])).toEqual([
      [null, -32700],
      [null, -32600],
      [null, -32600],
      [null, -32600],
    ]);
    expect(errors[3]?.error.message).toContain('1000 bytes');
    expect(checkLine('{"jsonrpc":"2.0","method":"x"}')).toEqual({ ok: true });
  });

  it('passes a line of exactly `maxLineBytes` (its newline or CRLF not counted), whole or in pieces, and refuses one byte more', async () => {
    const ping = (pad: number) =>
      `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"${'x'.repeat(pad)}"}}`;
    const at = ping(100);
    const max = Buffer.byteLength(at);
    const over = ping(101);
    // A `\r\n` ending is not counted either (until 2026-12-05 its `\r` was: a CRLF line of exactly
    // the bound was refused); in pieces, the `\r` may come in a chunk before its `\n`.
    for (const [pieces, ending] of [
      [1, '\n'],
      [3, '\n'],
      [1, '\r\n'],
      [3, '\r\n'],
    ] as const) {
      const input = new PassThrough();
      const answers: string[] = [];
      const passed: string[] = [];
      const out = guardStdin(input, (line) => answers.push(line), { maxLineBytes: max });
      out.on('data', (d: Buffer) => passed.push(d.toString()));
      for (const line of [at, over]) {
        const size = Math.ceil(line.length / pieces);
        for (let i = 0; i < line.length; i += size) input.write(line.slice(i, i + size));
        if (ending === '\r\n') input.write('\r');
        input.write('\n');
      }
      await new Promise((r) => setImmediate(r));
      expect(passed.join('')).toBe(`${at}\n`);
      expect(answers.map((a) => JSON.parse(a).error.message)).toEqual([
        `Invalid Request: line over ${max} bytes`,
      ]);
    }
  });

  it('answers a last line the input ended inside, with no newline, by its id, instead of dropping it', async () => {
    const ended = async (text: string, maxLineBytes = 1000) => {
      const input = new PassThrough();
      const answers: { id: unknown; error: { code: number; message: string } }[] = [];
      const passed: string[] = [];
      const out = guardStdin(input, (line) => answers.push(JSON.parse(line)), { maxLineBytes });
      out.on('data', (d: Buffer) => passed.push(d.toString()));
      const finished = new Promise((r) => out.once('end', r));
      input.end(text);
      await finished;
      return { answers, passed: passed.join('') };
    };
    const ping = '{"jsonrpc":"2.0","id":9,"method":"ping"}';
    expect(await ended(`${ping}\n${ping.replace('9', '"last"')}`)).toEqual({
      passed: `${ping}\n`,
      answers: [
        {
          jsonrpc: '2.0',
          id: 'last',
          error: {
            code: -32600,
            message:
              'Invalid Request: the input ended inside a line (45 bytes with no newline after them): not read; end each message with a newline',
          },
        },
      ],
    });
    expect(
      (await ended('{"jsonrpc":"2.0","method":"tools/call","params":{')).answers.map((a) => a.id),
    ).toEqual([null]);
    // Blank bytes after the last newline are no line.
    expect(await ended(`${ping}\n \r`)).toEqual({ passed: `${ping}\n`, answers: [] });
    // One over the bound that never ended is answered as too long, by its id.
    const long = await ended(
      `{"jsonrpc":"2.0","id":7,"method":"ping","params":{"p":"${'x'.repeat(200)}"}}`,
      100,
    );
    expect(long.answers.map((a) => [a.id, a.error.message])).toEqual([
      [7, 'Invalid Request: line over 100 bytes'],
    ]);
  });

  it('answers a request of another JSON-RPC version under its id, as HTTP does', () => {
    expect(checkLine('{"jsonrpc":"1.0","id":"v1","method":"ping"}')).toMatchObject({
      ok: false,
      code: -32600,
      id: 'v1',
    });
    expect(checkLine('{"id":3,"method":"ping"}')).toMatchObject({ ok: false, code: -32600, id: 3 });
    expect(checkLine('{"jsonrpc":"1.0","id":{"x":1},"method":"ping"}')).not.toHaveProperty('id');
    expect(checkLine('7')).not.toHaveProperty('id');
  });

  it('passes the good lines of one chunk on together, in order, around a bad one', async () => {
    const input = new PassThrough();
    const events: string[] = [];
    const out = guardStdin(input, (line) => events.push(`answer ${JSON.parse(line).error.code}`));
    out.on('data', (d: Buffer) => events.push(`data ${d.toString()}`));
    const ping = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping"}\n`;
    input.write(`${ping(1)}${ping(2)}nope\n${ping(3)}\r\n`.replace('\n\r\n', '\r\n'));
    input.write(`${ping(4).slice(0, 10)}`);
    input.write(`${ping(4).slice(10)}${ping(5)}`);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([
      `data ${ping(1)}${ping(2)}`,
      'answer -32700',
      `data ${ping(3)}`,
      `data ${ping(4)}${ping(5)}`,
    ]);
  });

  // With `id: null`, the host that sent a large file (or a deep one) waited out its own timeout.
  it('answers a line that is not UTF-8 with -32700 and no id, and passes a character split between chunks', async () => {
    const input = new PassThrough();
    const events: string[] = [];
    const out = guardStdin(input, (line) => {
      const { id, error } = JSON.parse(line);
      events.push(`answer ${id} ${error.code} ${error.message}`);
    });
    out.on('data', (d: Buffer) => events.push(`data ${d.toString()}`));
    const ping = (p: string) => `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"${p}"}}`;
    // Latin-1 `é`, then a three-byte `€` cut short: each a parse error, as over HTTP.
    input.write(Buffer.from(`${ping('caf\xe9')}\n`, 'latin1'));
    input.write(
      Buffer.concat([Buffer.from(ping('').slice(0, -3)), Buffer.from([0xe2, 0x82]), Buffer.from('"}}\n')]),
    );
    // A good `€` whose bytes come in two chunks is one character.
    const euro = Buffer.from(`${ping('€')}\n`);
    const at = euro.indexOf(0xe2) + 1;
    input.write(euro.subarray(0, at));
    input.write(euro.subarray(at));
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([
      'answer null -32700 Parse error: the line is not valid UTF-8',
      'answer null -32700 Parse error: the line is not valid UTF-8',
      `data ${ping('€')}\n`,
    ]);
  });

  it('answers a line too long or too deep with its id, read from where clients put it', async () => {
    const input = new PassThrough();
    const answers: { id: unknown; error: { message: string } }[] = [];
    guardStdin(input, (line) => answers.push(JSON.parse(line)), { maxLineBytes: 1000 });
    const big = 'x'.repeat(3000);
    // The SDK's order (id last), streamed in pieces past the cap.
    input.write(`{"method":"tools/call","params":{"arguments":{"prompt":"${big.slice(0, 1500)}`);
    input.write(`${big.slice(1500)}"}},"jsonrpc":"2.0","id":7}`);
    input.write('\n');
    // id first (Python's order), whole in one chunk.
    input.write(`{"jsonrpc":"2.0","id":"req-8","method":"tools/call","params":{"p":"${big}"}}\n`);
    // Neither: no id to read.
    input.write(`{"method":"x","params":{"id":9,"p":"${big}"}}\n`);
    // Too deep, id last.
    input.write(`{"jsonrpc":"2.0","method":"x","params":${'{"a":'.repeat(70)}1${'}'.repeat(70)},"id":10}\n`);
    await new Promise((r) => setImmediate(r));
    expect(answers.map((a) => a.id)).toEqual([7, 'req-8', null, 10]);
    expect(answers[0]?.error.message).toContain('line over 1000 bytes');
    expect(answers[3]?.error.message).toContain('nested deeper than 64 levels');
  });

  it('holds no more than maxLineBytes of a line with no newline yet: the rest is dropped as it comes', async () => {
    // Kept whole until its newline, a client's (or a runaway pipe's) endless line would take all the
    // memory there is; the refusal at the newline is the same either way. Every join of held bytes
    // is watched: none may be over the cap and one more chunk.
    const input = new PassThrough();
    const answers: string[] = [];
    guardStdin(input, (line) => answers.push(line), { maxLineBytes: 1000 }).resume();
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      for (let i = 0; i < 200; i++) input.write(Buffer.alloc(500, 97));
      input.write('\n');
      await new Promise((r) => setImmediate(r));
      const joined = concat.mock.calls.map(([list]) => list.reduce((n, b) => n + b.length, 0));
      expect(Math.max(0, ...joined)).toBeLessThanOrEqual(1000 + 500);
    } finally {
      concat.mockRestore();
    }
    expect(answers).toHaveLength(1);
    expect(JSON.parse(answers[0]!).error.message).toContain('line over 1000 bytes');
  });

  it('finds an id only at the top level of the line’s edges', () => {
    expect(idAtEdges('{"jsonrpc":"2.0","id":3,"method"', '')).toBe(3);
    expect(idAtEdges('{"id":"a\\"b","method"', '')).toBe('a"b');
    expect(idAtEdges('', ',"jsonrpc":"2.0","id":-4}')).toBe(-4);
    expect(idAtEdges('', '"x"},"id":"last" }  ')).toBe('last');
    // An id inside params, or in a member after an object, is not the request's.
    expect(idAtEdges('{"params":{"id":5},"id":6', '')).toBeUndefined();
    expect(idAtEdges('', '"params":{"id":5}}')).toBeUndefined();
    expect(idAtEdges('', '"text":"and \\"id\\":5"}')).toBeUndefined();
    expect(idAtEdges('{"jsonrpc":"2.0","id":1e999,', '')).toBeUndefined();
    expect(idAtEdges('{"jsonrpc":"2.0","id":null,', '')).toBeUndefined();
  });
});
