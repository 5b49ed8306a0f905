/**
 * Bearer tokens for `troupe serve`: one shared token (`TROUPE_TOKEN`), several named ones
 * (`TROUPE_TOKENS=name:token,...`, each client scoped to its name) and an admin token
 * (`TROUPE_ADMIN_TOKEN`, sees and cancels everyone's work). The scheme is case-insensitive
 * (RFC 7235 §2.1); every configured token is compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { runtimeError } from '../core/errors.js';

export interface NamedToken {
  /** Shown in metadata and used as the caller's scope when several named tokens are configured. */
  readonly name: string;
  readonly token: string;
  /** Sees and cancels every caller's sessions and tasks. @default false */
  readonly admin?: boolean;
  /**
   * The shared `TROUPE_TOKEN`: it names nobody, so its clients are told apart by MCP session and
   * see the operator pages. Marked, not told by its name: a `TROUPE_TOKENS` entry named `default`
   * is a client like any other. @default false
   */
  readonly shared?: boolean;
}

/** A token's kind: the shared one, the admin's, or a named client's (scoped to its own work). */
export function tokenKind(t: NamedToken): 'shared' | 'admin' | 'named' {
  return t.shared === true ? 'shared' : t.admin === true ? 'admin' : 'named';
}

/**
 * What a token must be: 8 or more printable ASCII characters with no whitespace (a request's
 * `Authorization: Bearer <token>` carries one word, so a token with a space in it could never
 * match; and Node reads a header's bytes as Latin-1, so a `€` a client sends as UTF-8 never reads
 * back as `€`: until 2026-12-07 such a token was taken and matched no request; one with `ö` matched
 * only clients that send Latin-1). Bearer tokens are ASCII (RFC 6750 §2.1).
 */
const TOKEN_RULE = '8 or more printable ASCII characters, none of them whitespace';
const goodToken = (token: string) => token.length >= 8 && /^[\x21-\x7e]+$/.test(token);

/** A `;` then what reads as a name and `:`: a second entry written after `;` instead of `,`. */
const ANOTHER_ENTRY = /;\s*[A-Za-z0-9_.-]{1,64}:/;

/**
 * The tokens from the environment; throws `INVALID_REQUEST` on a malformed one, never showing it.
 * Every token is checked alike (before 2026-12-03 only `TROUPE_TOKENS` entries were: a one-letter
 * `TROUPE_ADMIN_TOKEN` was taken), and no two may be the same: the first that matched won, so a
 * client given `bob`'s token, equal to `alice`'s, worked as `alice`, and a `TROUPE_ADMIN_TOKEN`
 * equal to `TROUPE_TOKEN` was never an admin.
 */
export function tokensFromEnv(env: NodeJS.ProcessEnv): NamedToken[] {
  const tokens: NamedToken[] = [];
  const single = (variable: string, token: NamedToken) => {
    if (!goodToken(token.token)) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected ${variable} to be ${TOKEN_RULE}, got ${described(token.token)}`,
      );
    }
    tokens.push(token);
  };
  const shared = env.TROUPE_TOKEN?.trim();
  if (shared) single('TROUPE_TOKEN', { name: 'default', token: shared, shared: true });
  const entries = (env.TROUPE_TOKENS ?? '').split(',');
  for (const [i, entry] of entries.entries()) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf(':');
    const name = at < 0 ? '' : entry.slice(0, at).trim();
    const token = at < 0 ? '' : entry.slice(at + 1).trim();
    const which = `entry ${i + 1} of ${entries.length}`;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || !goodToken(token)) {
      // An entry without `:` may be a bare token: only its length is shown. So may a name as long
      // as a token (an entry written token:name): shown by its length only.
      const got =
        at < 0
          ? `${which} without ":" (${entry.trim().length} characters, not shown)`
          : `${which} with ${shownName(name)} and ${described(token)}`;
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected TROUPE_TOKENS entries as name:token (name of letters, digits, _ . -; token of ${TOKEN_RULE}), got ${got}`,
      );
    }
    if (ANOTHER_ENTRY.test(token)) {
      // `alice:x;bob:y` was one token for alice, and bob's clients were refused. A `;` alone is a
      // token's own (a request's header carries it): only `;name:` reads as a second entry.
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected TROUPE_TOKENS entries separated by commas (name:token,name:token), got ${which} (${shownName(name)}) with ";name:" in its token (not shown)`,
      );
    }
    tokens.push({ name, token });
  }
  const admin = env.TROUPE_ADMIN_TOKEN?.trim();
  if (admin) single('TROUPE_ADMIN_TOKEN', { name: 'admin', token: admin, admin: true });
  const names = tokens.map((t) => t.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) {
    throw runtimeError('INVALID_REQUEST', `Expected each token name once, got "${twice}" twice`);
  }
  oneTokenEach(tokens, whose);
  return tokens;
}

/** Throws `INVALID_REQUEST` when two of `tokens` are the same, naming both by `which`. */
function oneTokenEach(tokens: readonly NamedToken[], which: (token: NamedToken, at: number) => string): void {
  const values = tokens.map((t) => t.token);
  const again = values.findIndex((token, i) => values.indexOf(token) !== i);
  if (again >= 0) {
    const at = values.indexOf(values[again] as string);
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected a different token for each client, got one token for ${which(tokens[at] as NamedToken, at)} and ${which(tokens[again] as NamedToken, again)} (a request with it would be taken for the first only)`,
    );
  }
}

/**
 * The tokens an embedder passes to `createHttpApp` (`token`, `tokens`), held to the rule of the
 * environment's (`goodToken`, one token each); throws `INVALID_REQUEST` naming the token by its
 * place, never showing it. Until 2026-12-07 they were taken as given: a 3-character token, one with
 * a space or a `€` (which no request can match), or one token for two clients.
 */
export function tokensFromCode(token: unknown, tokens: unknown): NamedToken[] {
  if (tokens !== undefined && !Array.isArray(tokens)) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected createHttpApp's \`tokens\` to be an array of { name, token }, got ${tokens === null ? 'null' : typeof tokens}`,
    );
  }
  const named = (tokens ?? []) as readonly unknown[];
  const check = (value: unknown, where: string) => {
    if (typeof value !== 'string' || !goodToken(value)) {
      const got = typeof value === 'string' ? described(value) : value === null ? 'null' : typeof value;
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected createHttpApp's ${where} to be ${TOKEN_RULE}, got ${got}`,
      );
    }
  };
  if (token !== undefined) check(token, '`token`');
  for (const [i, entry] of named.entries()) {
    const name = (entry as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '') {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected createHttpApp's \`tokens[${i}].name\` to be a non-empty string (the caller's name), got ${name === '' ? 'an empty string' : name === null ? 'null' : typeof name}`,
      );
    }
    check((entry as { token?: unknown } | null)?.token, `\`tokens[${i}]\` (${shownName(name)})`);
  }
  const all: NamedToken[] = [
    ...(token === undefined ? [] : [{ name: 'default', token: token as string, shared: true }]),
    ...(named as readonly NamedToken[]),
  ];
  const offset = token === undefined ? 0 : 1;
  const which = (at: number) => (at < offset ? '`token`' : `\`tokens[${at - offset}]\``);
  oneTokenEach(all, (_, at) => which(at));
  oneKindEach(all, which);
  return all;
}

/**
 * Throws `INVALID_REQUEST` when one name is given to tokens of two kinds (shared, admin, named). A
 * 2025-era session takes the requests of every token of its opener's name (`http-sessions.ts`), and
 * tokens of one kind and name are one caller (one client's old and new token); of two kinds they
 * are two (the shared token's clients are told apart by session, a named token's are one caller,
 * an admin sees all). Until 2026-12-07 `createHttpApp({ token, tokens: [{ name: 'default', ... }] })`
 * was taken, and each of the two could post into the other's sessions, given an id: cancel its
 * calls, early ones too, read its stream. The environment's names are each given once.
 */
function oneKindEach(tokens: readonly NamedToken[], which: (at: number) => string): void {
  for (const [at, t] of tokens.entries()) {
    const first = tokens.findIndex((other) => other.name === t.name);
    const other = tokens[first] as NamedToken;
    if (tokenKind(other) !== tokenKind(t)) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected each name to be given to tokens of one kind, got ${shownName(t.name)} for ${which(first)} (${tokenKind(other)}) and ${which(at)} (${tokenKind(t)}): a session opened with one would take the other's requests; give them different names`,
      );
    }
  }
}

/** A token as an error may show it: its length, and whether it holds whitespace or other than printable ASCII. */
function described(token: string): string {
  const what = /\s/.test(token)
    ? ' with whitespace in it'
    : /[^\x21-\x7e]/.test(token)
      ? ' with a character outside printable ASCII in it'
      : '';
  return `a token of ${token.length} characters${what} (not shown)`;
}

/** A `TROUPE_TOKENS` entry's name as an error may show it: only when too short to be a token. */
function shownName(name: string): string {
  return name.length < 8
    ? `name ${JSON.stringify(name)}`
    : `a name of ${name.length} characters (not shown: it could be a token)`;
}

/** Which setting a token came from, for messages. */
function whose(token: NamedToken): string {
  if (token.shared) return 'TROUPE_TOKEN';
  if (token.admin) return 'TROUPE_ADMIN_TOKEN';
  return `"${token.name}" (TROUPE_TOKENS)`;
}

/**
 * The token the request carries, if it is one of `tokens`; then taken out of the request's headers
 * (`forgetToken`).
 */
export function authenticate(req: IncomingMessage, tokens: readonly NamedToken[]): NamedToken | undefined {
  const raw = req.headers.authorization;
  const match = raw === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(raw);
  if (match === null) return undefined;
  // Digests, so every comparison is of equal lengths: comparing only tokens of the length given
  // (as before) took no time for the others, which told a client how long each token is.
  const given = digest(match[1] ?? '');
  let found: NamedToken | undefined;
  // Compare against every token, so the time taken does not say which one nearly matched.
  for (const candidate of tokens) {
    if (timingSafeEqual(given, digest(candidate.token))) found ??= candidate;
  }
  if (found !== undefined) forgetToken(req);
  return found;
}

/**
 * Takes troupe's own token out of a request it authenticated, so handlers see the caller's name
 * only (`authInfo`): they read the request's headers (a tool's `ctx.http.req`, `setup`'s
 * `requestInfo` for a 2026-07-28 request), where the token was in full until 2026-12-06. Both
 * copies go: the SDK's 2025-era transport reads `rawHeaders`, its 2026-07-28 handler `headers`.
 * A header that carried no token of troupe's (another service's credential) is left.
 */
function forgetToken(req: IncomingMessage): void {
  delete req.headers.authorization;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2)
    if (raw[i]?.toLowerCase() === 'authorization') raw.splice(i, 2);
}

/**
 * What a request without a token this server takes is told (401). It named `TROUPE_TOKEN` alone
 * until 2026-12-07, also on a server of named tokens or an embedder's, whose tokens come from code.
 */
export const UNAUTHORIZED =
  "Unauthorized: send Authorization: Bearer <token> with one of this server's tokens (troupe serve: TROUPE_TOKEN, your entry of TROUPE_TOKENS, or TROUPE_ADMIN_TOKEN)";

function digest(token: string): Buffer {
  // biome-ignore lint/plugin: a token is printable ASCII (goodToken refuses any other), one byte a character
  return createHash('sha256').update(token).digest();
}
