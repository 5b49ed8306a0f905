/**
 * A session whose run deadline passes about when its instance is killed (SIGKILL) and another takes
 * it over: it ends once, `timedOut` at its run deadline's count ("within N ms of starting"), with the
 * attempts it made, its caller's metadata, and the events of one process (a second `session.started`
 * only for a call the taker made); its calls are closed by its end, and its slot in the shared queue
 * is free after it. Traced from the kill property's "a timeout after a takeover" (an old-code replay
 * of 2026-12-07 left untraced). Two bugs found (docs/scale-out.md, "An instance is killed"):
 * - with every survivor at its `maxConcurrent`, the taken-over session waited in the queue past its
 *   run deadline, until a slot freed or its queue deadline came (a 2 s timeout ended after 23 s);
 * - a streamed session past its run deadline ended `cancelled` ("running it again would repeat
 *   them"), not `timedOut`.
 *
 * The caller's instance runs sessions too (`maxConcurrent: 1`): a long call fills it, so the
 * session goes to the other instance, a process to kill; cancelling that call gives it room for the
 * takeover. Needs the build (`npx tsc -p tsconfig.build.json`).
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionEvent, SessionRequest, SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import type { RecordedRequest } from '../../src/testing/openai-server.js';
import { contentOf, type Instance, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long after its session's end a call may still be open (an abort's close, a loaded machine). */
const CLOSE_WITHIN_MS = 1_000;

interface Cluster {
  readonly prefix: string;
  /** The caller's instance, here: it submits every session and runs them when it has room. */
  readonly here: Runtime;
  /** The instance the session runs on, a process to kill. */
  readonly victim: Instance;
  /** The long call that fills `here`: cancel it to give `here` room. */
  readonly blocker: { cancel(): void; readonly result: Promise<SessionResult> };
  /** `session.ended` heard by a listener on `here`, by session id. */
  readonly ends: Map<string, number>;
}

let prefixes = 0;
async function cluster(): Promise<Cluster> {
  const prefix = `tto${++prefixes}`;
  const { server } = rig;
  const here = createRuntime({
    providers: [
      createOpenAICompatibleProvider({
        name: 'p',
        baseURL: server.baseURL,
        apiKey: 'k',
        defaultHeaders: { 'x-instance': '0' },
      }),
    ],
    limits: { perProvider: { p: 2 }, maxConcurrent: 1 },
    defaults: { model: 'fault:ok', maxAttempts: 1 },
    backend: await redisBackend({ url: rig.redis.url, prefix }),
  });
  await here.ready;
  const ends = new Map<string, number>();
  here.subscribe((event) => {
    if (event.type === 'session.ended') ends.set(event.sessionId, (ends.get(event.sessionId) ?? 0) + 1);
  });
  const blocker = here.submit(
    { model: 'fault:ok:latency=90000', messages: [{ role: 'user', content: `${prefix}-blocker` }] },
    { timeoutMs: 120_000 },
  );
  await server.waitForRequest((r) => contentOf(r.body) === `${prefix}-blocker`);
  const victim = await startInstance(
    { redisUrl: rig.redis.url, providerBaseURL: server.baseURL, prefix, limit: 2, index: 1, work: true },
    rig.children,
  );
  return { prefix, here, victim, blocker, ends };
}

interface Submitted {
  readonly id: string;
  readonly result: Promise<SessionResult>;
  readonly events: SessionEvent[];
  /** Resolves once its handle's events ended. */
  readonly read: Promise<void>;
}

function submit(c: Cluster, request: SessionRequest, timeoutMs: number): Submitted {
  const handle = c.here.submit(request, { timeoutMs, queueTimeoutMs: 40_000, metadata: { who: 'me' } });
  const events: SessionEvent[] = [];
  const read = (async () => {
    for await (const event of handle.events) events.push(event);
  })();
  return { id: handle.id, result: handle.result, events, read };
}

const callsOf = (tag: string) => rig.server.requests.filter((r) => contentOf(r.body).startsWith(tag));

/** Kills the victim once its session `id` has `leftMs` of its run deadline left. */
async function killBeforeDeadline(c: Cluster, id: string, timeoutMs: number, leftMs: number) {
  const startedAt = c.here.session(id)?.startedAt as number;
  await sleep(startedAt + timeoutMs - leftMs - Date.now());
  c.victim.child.kill('SIGKILL');
}

/** What every such end must be; `calls` are the session's calls, `attempts` the ones it made. */
async function expectOneTimeout(c: Cluster, s: Submitted, timeoutMs: number, attempts: number) {
  const result = await s.result;
  await s.read;
  expect(result).toMatchObject({
    ok: false,
    error: { code: 'TIMED_OUT', timeout: 'run', retryable: false },
    metadata: { state: 'timedOut', provider: 'p', attempts, caller: { who: 'me' } },
  });
  expect(result.ok ? '' : result.error.message).toContain(`within ${timeoutMs} ms of starting`);
  expect('partial' in result).toBe(false);
  const types = s.events.filter((e) => e.type !== 'session.delta').map((e) => e.type);
  expect(types).toEqual([
    'session.queued',
    ...Array.from({ length: attempts }, () => 'session.started' as const),
    'session.ended',
  ]);
  expect(s.events.filter((e) => e.type === 'session.started').map((e) => e.attempt)).toEqual(
    Array.from({ length: attempts }, (_, i) => i + 1),
  );
  expect(c.ends.get(s.id)).toBe(1);
  const summary = c.here.session(s.id);
  expect(summary).toMatchObject({ state: 'timedOut', attempts, code: 'TIMED_OUT' });
  const endedAt = summary?.endedAt as number;
  // Nothing left in Redis but its end mark: no live entry, caller metadata, run record or deadline.
  const admin = new Redis(rig.redis.url);
  try {
    await expect
      .poll(async () => [
        await admin.hexists(`${c.prefix}:live`, s.id),
        await admin.hexists(`${c.prefix}:callers`, s.id),
        await admin.exists(`${c.prefix}:run:${s.id}`),
        await admin.zscore(`${c.prefix}:qdl`, `p|${s.id}`),
      ])
      .toEqual([0, 0, 0, null]);
  } finally {
    admin.disconnect();
  }
  return { result, endedAt };
}

/** Every call of `tag` closed by its session's end, none begun after it. */
async function expectCallsClosed(calls: readonly RecordedRequest[], endedAt: number) {
  for (const call of calls) {
    expect(call.receivedAt).toBeLessThanOrEqual(endedAt);
    await expect.poll(() => call.closedAt, { timeout: 5_000 }).toBeDefined();
    expect(call.closedAt as number).toBeLessThanOrEqual(endedAt + CLOSE_WITHIN_MS);
  }
}

/** The queue's slots are free: with `here` given room, a new session of p runs and answers. */
async function expectSlotsFree(c: Cluster) {
  c.blocker.cancel();
  await c.blocker.result;
  const next = c.here.submit(
    { model: 'fault:ok', messages: [{ role: 'user', content: `${c.prefix}-next` }] },
    { queueTimeoutMs: 10_000 },
  );
  expect(await next.result).toMatchObject({ ok: true });
  c.here.shutdown({ deadlineMs: 100 }).catch(() => {});
}

const chat = (tag: string, model: string): SessionRequest => ({
  provider: 'p',
  model,
  messages: [{ role: 'user', content: tag }],
});

it('a session whose run deadline passes while its instance is dead ends timedOut once when taken over, without a call', async () => {
  const c = await cluster();
  const tag = `${c.prefix}-s`;
  const s = submit(c, chat(tag, 'fault:ok:latency=30000'), 2_000);
  await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
  // Its lock outlives the kill by 750 ms at least: the taker finds its run deadline past.
  await killBeforeDeadline(c, s.id, 2_000, 300);
  c.blocker.cancel();
  const { endedAt } = await expectOneTimeout(c, s, 2_000, 1);
  const calls = callsOf(tag);
  expect(calls.map((r) => r.headers['x-instance'])).toEqual(['1']);
  await expectCallsClosed(calls, endedAt);
  await expectSlotsFree(c);
}, 120_000);

it('one whose run deadline passes during the taker’s call ends timedOut there, that call cut', async () => {
  const c = await cluster();
  const tag = `${c.prefix}-s`;
  const s = submit(c, chat(tag, 'fault:ok:latency=30000'), 9_000);
  await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
  c.victim.child.kill('SIGKILL');
  c.blocker.cancel();
  const again = await rig.server.waitForRequest(
    (r) => contentOf(r.body) === tag && r.headers['x-instance'] === '0',
  );
  const { endedAt } = await expectOneTimeout(c, s, 9_000, 2);
  const startedAt = c.here.session(s.id)?.startedAt as number;
  // Its original run deadline holds across the takeover: the taker's call is cut at it.
  expect(endedAt - startedAt).toBeGreaterThanOrEqual(9_000);
  expect(endedAt - startedAt).toBeLessThan(9_000 + CLOSE_WITHIN_MS);
  expect(again.receivedAt).toBeLessThan(startedAt + 9_000);
  await expectCallsClosed(callsOf(tag), endedAt);
  await expectSlotsFree(c);
}, 120_000);

it('one whose every survivor is full ends at its run deadline, not when a slot frees', async () => {
  const c = await cluster();
  const tag = `${c.prefix}-s`;
  const s = submit(c, chat(tag, 'fault:ok:latency=30000'), 2_000);
  await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
  c.victim.child.kill('SIGKILL');
  // Until 2026-12-07 it waited for the blocker's end (90 s) or its queue deadline (40 s).
  const ended = await Promise.race([s.result.then(() => true), sleep(20_000).then(() => false)]);
  expect(ended, 'ended within 20 s of the kill, every survivor full').toBe(true);
  const { endedAt } = await expectOneTimeout(c, s, 2_000, 1);
  const calls = callsOf(tag);
  expect(calls.map((r) => r.headers['x-instance'])).toEqual(['1']);
  await expectCallsClosed(calls, endedAt);
  await expectSlotsFree(c);
}, 120_000);

it('a streamed one whose deltas went out ends timedOut past its run deadline, not cancelled', async () => {
  const c = await cluster();
  const tag = `${c.prefix}-s`;
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
  const s = submit(c, { ...chat(`${tag} ${words}`, 'fault:ok:chunk-ms=200'), stream: true }, 2_500);
  await expect
    .poll(() => s.events.filter((e) => e.type === 'session.delta').length, { timeout: 30_000 })
    .toBeGreaterThan(1);
  await killBeforeDeadline(c, s.id, 2_500, 300);
  c.blocker.cancel();
  // Until 2026-12-07: `cancelled`, "the instance running it stopped after its stream's deltas reached observers".
  const { endedAt } = await expectOneTimeout(c, s, 2_500, 1);
  const calls = callsOf(tag);
  expect(calls.map((r) => r.headers['x-instance'])).toEqual(['1']);
  await expectCallsClosed(calls, endedAt);
  await expectSlotsFree(c);
}, 120_000);
