/**
 * errorsMapped: each server fault ends the call as a provider `TroupeError` with the code, the
 * `retryable` flag and the `retryAfterMs` the runtime's retry table expects, and no error text
 * (message, cause, properties) carries the API key, even when the server echoes it back.
 */
import { TroupeError } from '../../core/errors.js';
import {
  brief,
  type CallKind,
  type ContractContext,
  callKinds,
  completeOf,
  errorText,
  expectClosedAfterAbort,
  GRACE_MS,
  LateError,
  modelHint,
  onWire,
  requestFor,
  retryingLate,
  sleep,
  streamOf,
} from './harness.js';
import { checkIdle } from './idle.js';
import { keyIn } from './leak.js';
import { type ContractProperty, erase, needsServer } from './property.js';

interface Expectation {
  /** The fault directive (see `faults.ts`), without retry hints. */
  readonly fault: string;
  readonly code: string;
  readonly retryable: boolean;
  /** The server sends `Retry-After` and the error must carry it as `retryAfterMs`. */
  readonly retryAfter?: boolean;
  readonly streamOnly?: boolean;
}

/** The retry table of docs/providers.md, fault by fault. */
export const FAULTS: readonly Expectation[] = [
  { fault: '429', code: 'RATE_LIMITED', retryable: true, retryAfter: true },
  { fault: '401', code: 'AUTH_FAILED', retryable: false },
  { fault: '403', code: 'AUTH_FAILED', retryable: false },
  { fault: '404', code: 'MODEL_NOT_FOUND', retryable: false },
  { fault: '400', code: 'INVALID_REQUEST', retryable: false },
  { fault: '500', code: 'PROVIDER_UNAVAILABLE', retryable: true },
  { fault: '502', code: 'PROVIDER_UNAVAILABLE', retryable: true },
  { fault: '503', code: 'PROVIDER_UNAVAILABLE', retryable: true, retryAfter: true },
  { fault: 'reset', code: 'NETWORK', retryable: true },
  { fault: 'reset-mid', code: 'NETWORK', retryable: true },
  { fault: 'bad-json', code: 'BAD_RESPONSE', retryable: false },
  { fault: 'wrong-type', code: 'BAD_RESPONSE', retryable: false },
  { fault: 'empty', code: 'BAD_RESPONSE', retryable: false },
  { fault: 'bad-sse', code: 'BAD_RESPONSE', retryable: false, streamOnly: true },
  // A body that ends cleanly before any finish_reason was cut (a proxy, a restart), not finished.
  { fault: 'truncate', code: 'NETWORK', retryable: true, streamOnly: true },
  // A stalled server is ended by the session's deadline: the abort must win, as a cancellation.
  { fault: 'stall', code: 'CANCELLED', retryable: false },
  // The rest of the table's HTTP rows (until 2026-12-08 none was sent, and an adapter that mapped
  // 409 as a bad request passed): 413 and 422 are the request's own fault, sent again they fail
  // again; 408 and 409 (a lock timeout) are the server's, retried as the openai SDK and Z.ai's
  // client retry them (docs/providers.md [O1]). Neither Moonshot's nor Z.ai's error pages list any
  // of the four, so the Kimi and GLM presets give them the generic row too. Last in the list: a
  // failing case shrinks toward the faults listed before it (placed after 400, they gave the shrunk
  // case of contract-replay.test.ts's seed 7 requests to replay, over the 5 it allows).
  { fault: '413', code: 'INVALID_REQUEST', retryable: false },
  { fault: '422', code: 'INVALID_REQUEST', retryable: false },
  { fault: '408', code: 'PROVIDER_UNAVAILABLE', retryable: true },
  { fault: '409', code: 'PROVIDER_UNAVAILABLE', retryable: true },
];

export const errorsMapped: ContractProperty = {
  name: 'errorsMapped',
  title: 'every server fault ends as a TroupeError with the right code, retryable and retryAfterMs, key-free',
  skip: needsServer,
  examples(context) {
    // Every fault with a long hint, and those that carry one with a short hint too: an adapter
    // that waits out a short Retry-After and sends again is caught every run, not only when
    // fast-check draws a short one (until 2026-12-04). Each HTTP error as an HTML page too, as a
    // proxy sends it (until 2026-12-05 every error body was JSON). And each hint as an HTTP date
    // once (RFC 9110 allows both forms; until 2026-12-07 only seconds were sent, and an adapter that
    // read `Number(header)` and dropped a date passed).
    return FAULTS.flatMap((f) =>
      callKinds(context)
        .filter((kind) => !f.streamOnly || kind !== 'complete')
        .flatMap((kind) => [
          ...(f.retryAfter ? [7, 1] : [7]).map((retryAfterS) => ({ fault: f.fault, kind, retryAfterS })),
          ...(f.retryAfter ? [{ fault: f.fault, kind, retryAfterS: 7, date: true }] : []),
          ...(isStatus(f.fault) ? [{ fault: f.fault, kind, retryAfterS: 7, html: true }] : []),
          // A whole answer's stall under the session's bound (`idle.ts`): until 2026-12-07 none was.
          ...(f.fault === 'stall' && kind === 'complete'
            ? [{ fault: f.fault, kind, retryAfterS: 7, idle: true }]
            : []),
        ]),
    );
  },
  build(fc, context) {
    const arbitrary = fc
      .record({
        fault: fc.constantFrom(...FAULTS),
        kind: fc.constantFrom(...callKinds(context)),
        retryAfterS: fc.integer({ min: 1, max: 120 }),
        // For an HTTP error: the body as a proxy's HTML page, not JSON.
        html: fc.boolean(),
        // For a fault that carries a hint: `Retry-After` as an HTTP date, not seconds.
        date: fc.boolean(),
        // For a whole answer's stall: given `idleTimeoutMs`, which must end it, not an abort.
        idle: fc.boolean(),
      })
      .filter((c) => !c.fault.streamOnly || c.kind !== 'complete')
      .map(({ html, date, idle, ...c }) => ({
        ...c,
        fault: c.fault.fault,
        ...(html && isStatus(c.fault.fault) ? { html } : {}),
        ...(date && c.fault.retryAfter === true ? { date } : {}),
        ...(idle && c.fault.fault === 'stall' && c.kind === 'complete' ? { idle } : {}),
      }));
    return erase(
      fc.asyncProperty(arbitrary, (c) =>
        retryingLate(() =>
          'idle' in c
            ? checkIdle(context)
            : checkFault(context, c.fault, c.kind, c.retryAfterS, 'html' in c, 'date' in c),
        ),
      ),
    );
  },
};

async function checkFault(
  context: ContractContext,
  fault: string,
  kind: CallKind,
  retryAfterS: number,
  html = false,
  date = false,
): Promise<void> {
  const expected = FAULTS.find((f) => f.fault === fault) as Expectation;
  const status = isStatus(fault);
  // An HTTP date has whole seconds: `retryAfterS` from now, cut to the second before it.
  const hint = date
    ? encodeURIComponent(new Date(Date.now() + retryAfterS * 1000).toUTCString())
    : retryAfterS;
  const model = [
    `fault:${fault}`,
    ...(expected.retryAfter ? [`retry-after=${hint}`] : []),
    ...(status ? ['echo-auth=1'] : []),
    ...(status && html ? ['html=1'] : []),
    ...(fault === 'reset-mid' && kind === 'stream' ? ['after=2'] : []),
  ].join(':');
  const what = `${kind}() against \`${model}\``;
  const nonce = context.script({ content: 'a fault answer '.repeat(4) });
  const controller = new AbortController();
  const request = requestFor(context, nonce, model);
  let error: unknown;
  let outcome: 'resolved' | 'rejected' | 'pending';
  let abortedAt = 0;
  const abortAfterStall = async () => {
    if (fault !== 'stall' || context.server === undefined) return;
    await onWire(context.server, nonce);
    await sleep(30);
    abortedAt = Date.now();
    controller.abort();
  };
  if (kind === 'complete') {
    const call = completeOf(context, request, controller.signal);
    await abortAfterStall();
    await call.within(fault === 'stall' ? context.abortWithinMs + GRACE_MS : 5000);
    outcome = call.state;
    error = call.error;
  } else {
    const reader = streamOf(context, request, controller.signal, kind);
    reader.until = Date.now() + 5000;
    const reading = reader.read();
    await abortAfterStall();
    if (fault === 'stall') reader.until = abortedAt + context.abortWithinMs + GRACE_MS;
    await reading;
    outcome = reader.end === undefined ? 'pending' : reader.end.kind === 'threw' ? 'rejected' : 'resolved';
    error = reader.end?.error;
  }
  if (outcome === 'pending') {
    throw new (fault === 'stall' ? LateError : Error)(
      `Expected ${what} to fail${fault === 'stall' ? ` within ${context.abortWithinMs} ms of an abort` : ''}, got no end${fault === 'stall' ? '' : retryHint(context, nonce, status)}`,
    );
  }
  if (outcome === 'resolved')
    throw new Error(
      `Expected ${what} to fail with ${expected.code}, got a success${
        fault === 'truncate'
          ? ': the body ended before any chunk gave a finish_reason, and without [DONE], so the answer was cut, not finished'
          : ''
      }${modelHint(context, nonce, model)}`,
    );
  if (fault === 'stall') {
    // Aborted by the caller: any rejection will do, but a TroupeError must say CANCELLED.
    if (error instanceof TroupeError && error.code !== 'CANCELLED')
      throw new Error(`Expected ${what}, aborted, to reject as CANCELLED, got ${error.code}`);
    // The abort's error is logged like any other (until 2026-12-05 the key was not looked for here).
    const leaked = leakIn(error, context.apiKey);
    if (leaked !== undefined)
      throw new Error(
        `Expected no error text to carry the API key, got ${leaked} (${what}'s error, aborted)`,
      );
    const wire = context.server === undefined ? undefined : await onWire(context.server, nonce, 100);
    if (wire !== undefined) await expectClosedAfterAbort(context, wire, abortedAt, `the abort (${what})`);
    return;
  }
  if (!(error instanceof TroupeError))
    throw new Error(`Expected ${what} to reject with a TroupeError ${expected.code}, got ${brief(error)}`);
  if (error.code !== expected.code)
    throw new Error(`Expected ${what} to reject with code ${expected.code}, got ${error.code}`);
  if (error.retryable !== expected.retryable)
    throw new Error(
      `Expected ${what} to reject with retryable ${expected.retryable}, got ${error.retryable}`,
    );
  if (expected.retryAfter && !hintKept(error.retryAfterMs, retryAfterS * 1000, date))
    throw new Error(
      date
        ? `Expected ${what} (Retry-After: an HTTP date ${retryAfterS} s ahead) to carry retryAfterMs of the date less now, about ${retryAfterS * 1000}, got ${error.retryAfterMs}`
        : `Expected ${what} (Retry-After: ${retryAfterS}) to carry retryAfterMs ${retryAfterS * 1000}, got ${error.retryAfterMs}`,
    );
  const sent = sentFor(context, nonce);
  if (sent > 1)
    throw new Error(
      `Expected one request on the wire for ${what}, got ${sent} (the adapter sent it again; retries are the runtime's, by \`retryable\` and \`retryAfterMs\`)`,
    );
  const leak = leakIn(error, context.apiKey);
  if (leak !== undefined)
    throw new Error(`Expected no error text to carry the API key, got ${leak} (${what}'s error)`);
}

/**
 * Where the error carries the key: the first property path that holds it (`cause.request.headers.
 * authorization`), else what `JSON.stringify` or `util.inspect` prints of it. Until 2026-12-04 the
 * message said only that it was somewhere in the error.
 */
function leakIn(error: unknown, apiKey: string | undefined): string | undefined {
  const found = keyPath(error, apiKey);
  if (found !== undefined) return `${found.leak} at \`${found.path}\``;
  const json = keyIn(jsonText(error), apiKey);
  if (json !== undefined) return `${json} in what JSON.stringify prints of it (a getter or toJSON)`;
  const printed = keyIn(errorText(error), apiKey);
  return printed === undefined ? undefined : `${printed} in what util.inspect prints of it`;
}

/**
 * What a JSON logger prints of the error: `JSON.stringify` calls enumerable getters and `toJSON`,
 * which `util.inspect` and a walk of the data properties do not (until 2026-12-04 a key behind
 * either passed). An error it cannot print (a cycle) prints nothing here.
 */
function jsonText(error: unknown): string {
  try {
    return JSON.stringify(error) ?? '';
  } catch {
    return '';
  }
}

/**
 * Seconds: exactly. An HTTP date: the date less the adapter's now, which lies up to a second
 * below the seconds (the date was cut to its second) and a little more for the time on the wire;
 * 2 s of slack below for a loaded machine, and a second above for an adapter that rounds up.
 */
function hintKept(got: number | undefined, wantMs: number, date: boolean): boolean {
  if (!date) return got === wantMs;
  return typeof got === 'number' && got >= wantMs - 3000 && got <= wantMs + 1000;
}

/** An HTTP error status, not a broken connection or body. */
const isStatus = (fault: string): boolean => /^\d{3}$/.test(fault);

/** How many chat requests carrying the nonce reached the server. */
function sentFor(context: ContractContext, nonce: string): number {
  return (context.server?.requests ?? []).filter(
    (r) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body ?? '').includes(nonce),
  ).length;
}

/**
 * The first string reachable from the error through own data properties, enumerable or not, at any
 * depth, that carries the key, with its path (a JSON logger prints deeper than `util.inspect`'s 6
 * levels; a reporter may read hidden ones). Getters are not called. Bounded, so a huge or cyclic
 * object cannot stall the suite.
 */
function keyPath(root: unknown, apiKey: string | undefined): { leak: string; path: string } | undefined {
  const seen = new Set<object>();
  const queue: [unknown, string][] = [[root, '']];
  while (queue.length > 0 && seen.size < 5000) {
    const [value, path] = queue.shift() as [unknown, string];
    if (typeof value === 'string') {
      const leak = keyIn(value, apiKey);
      if (leak !== undefined) return { leak, path: path === '' ? '(the error itself)' : path };
    }
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value))
      continue;
    seen.add(value);
    const at = (key: string) => (path === '' ? key : `${path}.${key}`);
    if (value instanceof Map)
      for (const [key, entry] of value) queue.push([key, at('<map key>')], [entry, at(String(key))]);
    if (value instanceof Set) for (const entry of value) queue.push([entry, at('<set entry>')]);
    // `stack` last: it repeats the message, which is the place to name.
    const keys = Reflect.ownKeys(value).sort((a, b) => Number(a === 'stack') - Number(b === 'stack'));
    for (const key of keys) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor !== undefined && 'value' in descriptor) queue.push([descriptor.value, at(String(key))]);
    }
  }
  return undefined;
}

/**
 * Why a call may still be going 5 s after the server answered it: the adapter retrying on its own
 * (more than one request, or one HTTP error it may be waiting out), or, after one 200 whose body
 * ended, waiting for more than the body held (until 2026-12-05 that too was called a retry).
 */
function retryHint(context: ContractContext, nonce: string, httpError: boolean): string {
  const sent = sentFor(context, nonce);
  const answered = context.server?.requests.some(
    (r) => r.completed === true && JSON.stringify(r.body ?? '').includes(nonce),
  );
  if (sent <= 1 && !answered) return '';
  const wire = `${sent} request${sent === 1 ? '' : 's'} on the wire`;
  if (sent <= 1 && !httpError)
    return ` in 5 s, though the server had ended its response (${wire}): does the adapter wait for more than the body held (a \`[DONE]\` or a finish_reason the server never sent)?`;
  return ` in 5 s, though the server had answered (${wire}): does the adapter wait and retry by itself (an SDK's own retries left on)? Retries are the runtime's`;
}
