/**
 * What routing costs a session, as ratios against the plain path in the same run (issue 15): the
 * context-window check (a registry router that knows the window, so every submit is estimated), a
 * fallback chain that is not used, and a chain used once per session (the first target fails at
 * once with PROVIDER_UNAVAILABLE, the second answers). Instant providers, 128 in flight, rounds
 * alternated so load on the machine falls on every contender alike.
 */
import { providerError } from '../src/core/errors.js';
import type { ChatProvider, ChatResponse } from '../src/providers/port.js';
import { createModelRegistry } from '../src/providers/registry.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { SessionRequest } from '../src/runtime/types.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_FLIGHT = 128;
const ANSWER: ChatResponse = {
  content: 'ok',
  usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
};
const PROMPT = 'Summarise the actor model in one paragraph for a reader who knows threads. '.repeat(4);

function instant(name: string, fail = false): ChatProvider {
  return {
    name,
    complete: fail
      ? async () => {
          throw providerError('PROVIDER_UNAVAILABLE', 'Expected a completion, got 503');
        }
      : async () => ANSWER,
    // biome-ignore lint/correctness/useYield: never streamed here.
    async *stream() {
      throw new Error('not used');
    },
  };
}

type Contender = 'plain' | 'checked' | 'chainUnused' | 'oneHop';

/** Sessions per second (wall) and CPU microseconds per session (steadier on a loaded machine). */
async function rate(contender: Contender): Promise<{ perSec: number; cpuUs: number }> {
  const providers = [instant('a', contender === 'oneHop'), instant('b')];
  const windows = contender !== 'plain';
  const registry = createModelRegistry([
    { name: 'a', configured: true, models: [{ id: 'm', ...(windows ? { contextWindow: 131_072 } : {}) }] },
    { name: 'b', configured: true, models: [{ id: 'n', ...(windows ? { contextWindow: 131_072 } : {}) }] },
  ]);
  const runtime = createRuntime({
    providers,
    router: registry.router,
    limits: { maxConcurrent: 64, maxQueued: 100_000 },
    defaults: { maxAttempts: 1 },
  });
  const request: SessionRequest = {
    provider: 'a',
    model: 'm',
    messages: [{ role: 'user', content: PROMPT }],
    ...(contender === 'chainUnused' || contender === 'oneHop'
      ? { fallbacks: [{ provider: 'b', model: 'n' }] }
      : {}),
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  let submitted = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    let finished = 0;
    const next = (): void => {
      if (submitted >= SESSIONS) return;
      submitted++;
      runtime.submit(request).result.then((result) => {
        if (!result.ok) failed++;
        finished++;
        if (finished === SESSIONS) resolve();
        else next();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) next();
  });
  const perSec = SESSIONS / ((performance.now() - started) / 1000);
  const used = process.cpuUsage(cpu);
  await runtime.shutdown();
  if (failed > 0) throw new Error(`Expected every ${contender} session to succeed, ${failed} failed`);
  return { perSec, cpuUs: (used.user + used.system) / SESSIONS };
}

export async function run(argv: readonly string[]): Promise<void> {
  const contenders: Contender[] = ['plain', 'checked', 'chainUnused', 'oneHop'];
  const best: Record<Contender, number> = { plain: 0, checked: 0, chainUnused: 0, oneHop: 0 };
  const cpu: Record<Contender, number> = {
    plain: Infinity,
    checked: Infinity,
    chainUnused: Infinity,
    oneHop: Infinity,
  };
  await rate('plain'); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contenders) {
      const r = await rate(c);
      best[c] = Math.max(best[c], r.perSec);
      cpu[c] = Math.min(cpu[c], r.cpuUs);
    }
  }
  const ratio = (c: Contender) => Number((best[c] / best.plain).toFixed(3));
  // CPU per session against the plain path's: 1.05 means routing added 5 % of a session's CPU.
  const cpuRatio = (c: Contender) => Number((cpu[c] / cpu.plain).toFixed(3));
  const figures = {
    sessions: SESSIONS,
    rounds: ROUNDS,
    plainSessionsPerSec: Math.round(best.plain),
    plainCpuUsPerSession: Number(cpu.plain.toFixed(2)),
    checkedRatio: ratio('checked'),
    checkedCpuRatio: cpuRatio('checked'),
    chainUnusedRatio: ratio('chainUnused'),
    chainUnusedCpuRatio: cpuRatio('chainUnused'),
    oneHopRatio: ratio('oneHop'),
    oneHopCpuRatio: cpuRatio('oneHop'),
  };
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k}: ${v}\n`);
}
