/**
 * `/metrics` and `/events` on the real HTTP app: Prometheus names and values after real sessions,
 * a registry per server, and an event stream that batches, counts deltas instead of sending them,
 * caps a batch, unsubscribes when the client goes away, and drops a client that stops reading.
 */
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isAdminRequest } from '../../src/mcp/caller.js';
import { createMcpContext } from '../../src/mcp/context.js';
import { createHttpApp, type HttpApp } from '../../src/mcp/http.js';
import type { EventBatch, EventStreamOptions } from '../../src/observe/event-stream-route.js';
import { createObservability, type Observability } from '../../src/observe/routes.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';

const open: { app: HttpApp; observe: Observability; runtime: Runtime }[] = [];

async function start(events: EventStreamOptions = { intervalMs: 100, maxBatch: 200 }) {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 1, max: 5 }, retryAfterMs: 5 })],
    limits: { perProvider: { simulated: 3 } },
    defaults: { model: 'sim-fast', backoffBaseMs: 5, backoffMaxMs: 10 },
  });
  const observe = createObservability(runtime, { events });
  const app = createHttpApp({
    mcp: createMcpContext({ runtime, log: () => {} }),
    routes: observe.routes,
    port: 0,
  });
  const base = (await app.listen()).url.replace(/\/mcp$/, '');
  open.push({ app, observe, runtime });
  return { runtime, observe, base, app };
}

afterEach(async () => {
  for (const { app, observe, runtime } of open.splice(0)) {
    observe.close();
    await runtime.shutdown({ deadlineMs: 0 });
    await app.close();
  }
});

const ask = (content: string, extra: Record<string, unknown> = {}, stream = false) => ({
  messages: [{ role: 'user' as const, content }],
  extra,
  stream,
});

describe('/metrics', () => {
  it('exposes sessions, histograms, retries, errors, tokens and gauges, per server registry', async () => {
    const { runtime, base } = await start();
    const second = await start();
    const results = await Promise.all([
      runtime.submit(ask('a')).result,
      runtime.submit(ask('b', {}, true)).result,
      runtime.submit(ask('c', { simulate: 'rate_limited' }), { maxAttempts: 2 }).result,
      runtime.submit(ask('d', { simulate: 'bad_response' })).result,
    ]);
    expect(results.map((r) => r.metadata.state)).toEqual(['done', 'done', 'failed', 'failed']);
    const held = [1, 2, 3, 4, 5].map(() => runtime.submit(ask('h', { simulate: 'hang' }), { priority: 7 }));
    // The 429 above cooled the provider down: one held session probes, the rest wait until the
    // probe is accepted (not refused within PROBE_ACCEPTED_MS), then fill the provider's 3 slots.
    await until(() => runtime.status().running === 3);
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('troupe_sessions_total{state="done",provider="simulated"} 2');
    expect(text).toContain('troupe_sessions_total{state="failed",provider="simulated"} 2');
    expect(text).toContain('troupe_retries_total{provider="simulated",code="RATE_LIMITED"} 1');
    expect(text).toContain('troupe_provider_errors_total{provider="simulated",code="RATE_LIMITED"} 2');
    expect(text).toContain('troupe_provider_errors_total{provider="simulated",code="BAD_RESPONSE"} 1');
    expect(text).toMatch(
      /troupe_tokens_total\{provider="simulated",model="sim-fast",kind="completion"\} [1-9]/,
    );
    expect(text).toContain('troupe_session_queue_wait_seconds_count{provider="simulated"} 4');
    expect(text).toContain('troupe_session_run_seconds_count{provider="simulated",state="done"} 2');
    expect(text).toContain('troupe_queue_depth{priority="7"} 2');
    // Every priority has its row, the highest (9) and the lowest (0) included.
    expect(text).toContain('troupe_queue_depth{priority="9"} 0');
    expect(text).toContain('troupe_queue_depth{priority="0"} 0');
    expect(text).toContain('troupe_in_flight{provider="simulated"} 3');
    expect(text).toContain('troupe_in_flight_limit{provider="simulated"} 3');
    expect(text).toContain('troupe_supervisor_state{state="accepting"} 1');
    // The two 429s of the rate-limited session, and the cooldown the first started.
    expect(text).toContain('troupe_rate_limited_received 2');
    expect(text).toMatch(/troupe_cooldowns [1-9]/);
    expect(text).toMatch(/troupe_limit_waits\{limit="cooldown"\} [1-9]/);
    // The other server's registry saw none of it.
    const other = await (await fetch(`${second.base}/metrics`)).text();
    expect(other).not.toContain('troupe_sessions_total{');
    expect(other).toContain('troupe_in_flight{provider="simulated"} 0');
    for (const h of held) h.cancel();
  });
});

async function until(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('Expected the condition within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("/metrics with limits in the provider's own units", () => {
  it('shows what the provider has left per unit, and the wait a full minute caused', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ latencyMs: { min: 1, max: 2 } })],
      limits: { providers: { simulated: { requestsPerMinute: 3, tokensPerMinute: 1_000_000 } } },
      defaults: { model: 'sim-fast' },
    });
    const observe = createObservability(runtime);
    try {
      const first = await Promise.all([1, 2].map((i) => runtime.submit(ask(`r${i}`)).result));
      expect(first.every((r) => r.ok)).toBe(true);
      let text = await observe.metrics.scrape();
      expect(text).toContain('troupe_limit_remaining{provider="simulated",unit="requests_per_minute"} 1');
      expect(text).toMatch(/troupe_limit_remaining\{provider="simulated",unit="tokens_per_minute"\} 9\d{5}/);
      expect(text).toContain('troupe_provider_cooling_down{provider="simulated"} 0');
      // The third call takes the last request of the minute; the fourth waits for the window.
      await runtime.submit(ask('r3')).result;
      const waiting = runtime.submit(ask('r4'), { queueTimeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(runtime.session(waiting.id)).toMatchObject({ state: 'queued', waitingFor: 'requestsPerMinute' });
      text = await observe.metrics.scrape();
      expect(text).toContain('troupe_limit_remaining{provider="simulated",unit="requests_per_minute"} 0');
      expect(text).toContain('troupe_limit_waits{limit="requestsPerMinute"} 1');
      waiting.cancel();
    } finally {
      observe.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });

  it('a provider cooling down per model: the provider stays open, the models cooling down are counted, no model id in a label', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ retryAfterMs: 60_000 })],
      limits: { providers: { simulated: { cooldownScope: 'model' } } },
      defaults: { model: 'sim-fast', maxAttempts: 1 },
    });
    const observe = createObservability(runtime);
    try {
      let text = await observe.metrics.scrape();
      expect(text).toContain('troupe_models_cooling_down{provider="simulated"} 0');
      for (const model of ['sim-pro', 'sim-thinker']) {
        const r = await runtime.submit({ ...ask(model), model, extra: { simulate: 'rate_limited' } }).result;
        expect(r.ok || r.error.code).toBe('RATE_LIMITED');
      }
      text = await observe.metrics.scrape();
      expect(text).toContain('troupe_models_cooling_down{provider="simulated"} 2');
      expect(text).toContain('troupe_provider_cooling_down{provider="simulated"} 0');
      expect(text).toContain('troupe_cooldowns 2');
      expect(text).not.toContain('sim-pro');
    } finally {
      observe.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });
});

/** Reads SSE messages from `/events` until `enough` says stop; then aborts the request. */
async function readEvents(base: string, enough: (messages: { event: string; data: unknown }[]) => boolean) {
  const abort = new AbortController();
  const res = await fetch(`${base}/events`, { signal: abort.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const messages: { event: string; data: unknown }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (!enough(messages)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) messages.push({ event, data: JSON.parse(data) });
        cut = buffer.indexOf('\n\n');
      }
    }
  } finally {
    abort.abort();
  }
  return messages;
}

describe('/events', () => {
  it('sends snapshots and batches; deltas are counted, a batch is capped, the rest counted as dropped', async () => {
    const { runtime, base, observe } = await start({ intervalMs: 150, maxBatch: 10 });
    const batches = (m: { event: string; data: unknown }[]) =>
      m.filter((x) => x.event === 'batch').map((x) => x.data as EventBatch);
    let submitted = false;
    const messages = await readEvents(base, (m) => {
      if (!submitted && m.length > 0) {
        submitted = true;
        expect(observe.eventClients).toBe(1);
        for (let i = 0; i < 20; i++) void runtime.submit(ask(`s${i}`, {}, true)).result;
      }
      const sent = batches(m).reduce(
        (n, b) => n + b.events.filter((e) => e.type === 'session.ended').length + b.dropped,
        0,
      );
      return (
        sent > 0 &&
        batches(m).some((b) => b.dropped > 0) &&
        runtime.status().running === 0 &&
        runtime.status().queued === 0 &&
        m.at(-1)?.event === 'snapshot'
      );
    });
    expect(messages[0]!.event).toBe('snapshot');
    const all = batches(messages);
    expect(all.every((b) => b.events.length <= 10)).toBe(true);
    expect(all.reduce((n, b) => n + b.deltas, 0)).toBeGreaterThan(20);
    expect(all.flatMap((b) => b.events).some((e) => e.type === 'session.delta')).toBe(false);
    const snapshot = messages.at(-1)!.data as { counts: { done: number }; status: { state: string } };
    expect(snapshot.status.state).toBe('accepting');
    // The client went away: its subscription goes with it.
    const deadline = Date.now() + 5000;
    while (observe.eventClients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(observe.eventClients).toBe(0);
  });

  it('serves at most maxClients streams at once: one more gets 503 naming the bound; a closed one makes room', async () => {
    const { base, observe } = await start({ intervalMs: 100, maxClients: 2 });
    const aborts = [new AbortController(), new AbortController()];
    const held = await Promise.all(aborts.map((a) => fetch(`${base}/events`, { signal: a.signal })));
    expect(held.map((r) => r.status)).toEqual([200, 200]);
    expect(observe.eventClients).toBe(2);
    const refused = await fetch(`${base}/events`);
    expect(refused.status).toBe(503);
    expect(await refused.text()).toMatch(/^Expected at most 2 \/events streams open at once, got one more: /);
    aborts[0]!.abort();
    const deadline = Date.now() + 5000;
    while (observe.eventClients > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const again = new AbortController();
    const admitted = await fetch(`${base}/events`, { signal: again.signal });
    expect(admitted.status).toBe(200);
    again.abort();
    aborts[1]!.abort();
  });

  it('keeps the last places on /events for the admin token: the shared token’s clients cannot fill them', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const observe = createObservability(runtime, {
      events: { intervalMs: 100, maxClients: 3, reservedPlaces: 1, reservedFor: isAdminRequest },
    });
    const app = createHttpApp({
      mcp: createMcpContext({ runtime, log: () => {} }),
      operatorRoutes: observe.routes,
      tokens: [
        { name: 'default', token: 'shared-token-1', shared: true },
        { name: 'admin', token: 'admin-token-1', admin: true },
      ],
      port: 0,
    });
    const base = (await app.listen()).url.replace(/\/mcp$/, '');
    open.push({ app, observe, runtime });
    const aborts: AbortController[] = [];
    const get = (token: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      return fetch(`${base}/events`, { signal: abort.signal, headers: { Authorization: `Bearer ${token}` } });
    };
    try {
      expect((await get('shared-token-1')).status).toBe(200);
      expect((await get('shared-token-1')).status).toBe(200);
      const refused = await get('shared-token-1');
      expect(refused.status).toBe(503);
      expect(await refused.text()).toBe(
        "Expected at most 2 /events streams open at once for tokens other than the admin's (1 of 3 kept for it), got one more: close a dashboard tab, then connect again\n",
      );
      // Before: the admin's page met the same 503 once the shared token's tabs held every place.
      expect((await get('admin-token-1')).status).toBe(200);
      expect(observe.eventClients).toBe(3);
      const full = await get('admin-token-1');
      expect(full.status).toBe(503);
      expect(await full.text()).toMatch(/^Expected at most 3 \/events streams open at once, got one more: /);
    } finally {
      for (const abort of aborts) abort.abort();
    }
  });

  it('drops a client that stops reading once more than maxBufferedBytes wait unsent for it, over a real socket', async () => {
    const maxBufferedBytes = 64 * 1024;
    const { runtime, observe, base, app } = await start({ intervalMs: 1, maxBufferedBytes });
    // 20 live sessions with the longest labels: snapshots of about 10 KB, 1 ms apart.
    const held = Array.from({ length: 20 }, (_, i) =>
      runtime.submit(ask('h', { simulate: 'hang' }), { label: String(i).padEnd(256, '·') }),
    );
    let stream: ServerResponse | undefined;
    app.server.on('request', (req, res) => {
      if (req.url === '/events') stream = res;
    });
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause(); // takes nothing: the kernel's buffers fill, then the server's
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    let most = 0;
    const deadline = Date.now() + 20_000;
    while ((stream === undefined || observe.eventClients > 0) && Date.now() < deadline) {
      most = Math.max(most, stream?.writableLength ?? 0);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(observe.eventClients).toBe(0);
    expect(stream?.destroyed).toBe(true);
    // What waited for it: the bound, and what one interval wrote past it (a batch and a snapshot).
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThan(maxBufferedBytes + 64 * 1024);
    socket.destroy();
    for (const h of held) h.cancel();
  });

  it('/api/status is the monitor snapshot; its live counts match status()', async () => {
    const { runtime, base } = await start();
    const held = [1, 2, 3, 4, 5].map(() => runtime.submit(ask('h', { simulate: 'hang' })));
    const snap = (await (await fetch(`${base}/api/status`)).json()) as {
      counts: { queued: number; calling: number; streaming: number; backingOff: number };
      status: { queued: number; running: number };
    };
    expect(snap.counts.queued).toBe(runtime.status().queued);
    expect(snap.counts.calling + snap.counts.streaming + snap.counts.backingOff).toBe(
      runtime.status().running,
    );
    expect([snap.status.queued, snap.status.running]).toEqual([2, 3]);
    for (const h of held) h.cancel();
  });

  it('labels what carries client strings nosniff: JSON or text is never read as a page or a script', async () => {
    // Until 2026-12-07 none was: a model id holding markup reached /metrics and /api/status as sent.
    const { base } = await start();
    for (const path of ['/api/status', '/metrics', '/events']) {
      const controller = new AbortController();
      const res = await fetch(`${base}${path}`, { signal: controller.signal });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      controller.abort();
    }
  });
});
