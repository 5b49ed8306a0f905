/**
 * Tool error results: a model reading one learns the code, what happened and what to do next.
 */
import { describe, expect, it } from 'vitest';
import type { TroupeErrorCode } from '../../../src/core/errors.js';
import { providerError, runtimeError } from '../../../src/core/errors.js';
import { errorText, hintFor, toolErrorFrom, toolErrorInfo } from '../../../src/mcp/errors.js';
import { UNAUTHORIZED } from '../../../src/mcp/http-auth.js';
import { envelopeMessage, initializeRefusal } from '../../../src/mcp/http-body.js';
import { tooManyOpenRequests } from '../../../src/mcp/http-open.js';
import {
  busyMessage,
  tooManyListens,
  tooManySessions,
  unsupportedVersion,
} from '../../../src/mcp/http-reply.js';
import { idTakenMessage } from '../../../src/mcp/in-flight-ids.js';
import { tooManyStreams } from '../../../src/observe/event-stream-route.js';
import { CODES } from './error-codes.js';

/**
 * "retry" said to the caller: the words left once `retryable`'s and `retry_after_ms`' names (which
 * `\b` does not split), the `Retry-After` header's, and "troupe does not (queue or) retry" (of troupe)
 * are taken out. "retry" is said only of troupe's own retries; the caller is told to call again.
 */
function toldToRetry(text: string): boolean {
  const told = text.replace(/troupe does not (queue or )?retry/g, '').replace(/Retry-After/g, '');
  return /\bretr(y|ying|ied|ies)\b/i.test(told);
}

describe('hintFor', () => {
  it('gives every code a hint of its own', () => {
    const hints = CODES.map((code) => hintFor(code));
    for (const hint of hints) expect(hint.length).toBeGreaterThan(20);
    expect(new Set(hints).size).toBe(CODES.length);
  });

  it('tells the caller what to do for the codes a model meets most', () => {
    expect(hintFor('RATE_LIMITED')).toContain('retry_after_ms');
    expect(hintFor('TIMED_OUT')).toContain('timeout_ms');
    expect(hintFor('MODEL_NOT_FOUND')).toContain('list_models');
    expect(hintFor('QUEUE_FULL')).toContain('call again in a few seconds');
  });

  it('says "retry" only of troupe’s own retries, never to the caller, for every code and deadline', () => {
    const kinds = [undefined, 'queue', 'run', 'idle'] as const;
    for (const code of CODES) {
      for (const kind of kinds) {
        expect(toldToRetry(hintFor(code, kind)), `${code} ${kind}: ${hintFor(code, kind)}`).toBe(false);
      }
    }
  });

  it('says "retry" in no HTTP refusal either: a 503 with Retry-After tells the client to send again', () => {
    const refusals = [
      tooManySessions(2, 1, 1_800_000),
      tooManySessions('token:alice', 1, 1_800_000),
      tooManyListens(2, 'token:alice'),
      busyMessage(1_048_576),
      busyMessage(262_144, 'token:alice'),
      tooManyOpenRequests(5, 'token:alice'),
      tooManyStreams(32, 32, 4),
      tooManyStreams(28, 32, 4),
      unsupportedVersion('1999-01-01'),
      idTakenMessage(7),
      envelopeMessage(70_000, 65_536),
      initializeRefusal({ method: 'initialize', params: { pad: 'x'.repeat(300_000) } }) ?? '',
      UNAUTHORIZED,
    ];
    for (const text of refusals) {
      expect(text.length, text).toBeGreaterThan(20);
      expect(toldToRetry(text), text).toBe(false);
    }
    // What the client should do instead, in the words of the header it came with (`Retry-After: 1`).
    expect(busyMessage(1_048_576)).toContain('send this request again in 1 s, as Retry-After says');
    expect(busyMessage(262_144, 'token:alice')).toContain(
      "send this request again once your other requests' bodies are sent",
    );
    expect(tooManySessions(2, 1, 1_800_000)).toContain(
      'or send initialize again once an idle one has closed (a session closes after 1800 s with no request)',
    );
    expect(tooManyStreams(32, 32, 4)).toBe(
      'Expected at most 32 /events streams open at once, got one more: close a dashboard tab, then connect again\n',
    );
  });

  it('finds "retry" said to the caller, and not in a field’s or header’s name', () => {
    expect(toldToRetry('Call again in a few seconds (retryable is false, see retry_after_ms).')).toBe(false);
    expect(toldToRetry('send it again after Retry-After')).toBe(false);
    expect(toldToRetry('troupe does not queue or retry a call it refused')).toBe(false);
    for (const told of ['Retry later.', 'then retry', 'retrying', 'retried', 'it retries'])
      expect(toldToRetry(told), told).toBe(true);
  });

  it('says beside QUEUE_FULL’s retryable false that troupe did not retry it, and to call again', () => {
    const info = toolErrorInfo(runtimeError('QUEUE_FULL', 'Expected room in the queue, got 7').toData());
    expect(info.retryable).toBe(false);
    expect(info.hint).toContain(
      'troupe does not queue or retry a call it refused (so retryable is false): call again in a few seconds',
    );
  });

  it('says beside BACKEND_UNAVAILABLE’s retryable false that troupe did not retry it, and to call again', () => {
    const hint = hintFor('BACKEND_UNAVAILABLE');
    expect(hint).toContain(
      'troupe does not retry a call for it (so retryable is false): call again in a few seconds',
    );
    expect(hint).toContain("If the message says the call's end is not known, read the session by id first");
  });

  it('tells a TIMED_OUT by its deadline: only the run deadline is timeout_ms', () => {
    expect(hintFor('TIMED_OUT', 'run')).toBe(hintFor('TIMED_OUT'));
    expect(hintFor('TIMED_OUT', 'queue')).toBe(
      'The call waited in the queue past its queue deadline without starting: the server was busy. Call again in a few seconds, send fewer calls at once, or give it a higher priority; timeout_ms sets the run deadline, not this one.',
    );
    expect(hintFor('TIMED_OUT', 'idle')).toBe(
      'The provider stopped sending in the middle of its answer. Call again, or choose another provider.',
    );
    // Only TIMED_OUT reads the deadline.
    expect(hintFor('CANCELLED', 'queue')).toBe(hintFor('CANCELLED'));
    const queued = toolErrorInfo(
      runtimeError('TIMED_OUT', 'Expected the session to start within 1000 ms', {
        timeout: 'queue',
      }).toData(),
    );
    expect(queued).toMatchObject({ timeout: 'queue', hint: hintFor('TIMED_OUT', 'queue') });
  });

  it('falls back to the INTERNAL hint for a code it does not know (from a newer peer)', () => {
    expect(hintFor('SOMETHING_NEW' as TroupeErrorCode)).toBe(hintFor('INTERNAL'));
  });
});

describe('toolErrorInfo', () => {
  it('carries code, message, hint and retryability, and only the optional fields given', () => {
    const info = toolErrorInfo(providerError('AUTH_FAILED', 'Expected a valid key, got 401').toData());
    expect(info).toEqual({
      code: 'AUTH_FAILED',
      message: 'Expected a valid key, got 401',
      hint: hintFor('AUTH_FAILED'),
      retryable: false,
    });
    expect(Object.keys(info)).toEqual(['code', 'message', 'hint', 'retryable']);
  });

  it('passes the retry-after hint and the timeout kind on in snake case', () => {
    const limited = toolErrorInfo(providerError('RATE_LIMITED', 'slow', { retryAfterMs: 1500 }).toData());
    expect(limited.retryable).toBe(true);
    expect(limited.retry_after_ms).toBe(1500);
    const late = toolErrorInfo(runtimeError('TIMED_OUT', 'late', { timeout: 'queue' }).toData());
    expect(late.timeout).toBe('queue');
    expect(late).not.toHaveProperty('retry_after_ms');
  });
});

describe('toolErrorFrom and errorText', () => {
  it('turns anything thrown into a tool error a model can read', () => {
    const info = toolErrorFrom(new Error('disk full'));
    expect(info.code).toBe('INTERNAL');
    expect(errorText(info)).toBe(`INTERNAL: Unexpected error: disk full\n${hintFor('INTERNAL')}`);
  });
});
