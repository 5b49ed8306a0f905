/**
 * The mixed load `troupe demo` and `troupe load` run: the same seed gives the same sessions. Each
 * session has a kind that decides how the simulated provider treats it (via `extra.simulate`) and
 * what the driver does to it (cancel after a while, a short run deadline).
 */
import { seededRandom } from '../core/random.js';
import type { FinalState } from '../runtime/types.js';

export type LoadKind = 'ok' | 'slow' | 'stream' | 'retried' | 'failing' | 'cancelled' | 'timeout';

export interface LoadItem {
  readonly index: number;
  readonly kind: LoadKind;
  /** 0 to 9. */
  readonly priority: number;
  readonly model: string;
  readonly stream: boolean;
  /** Sent as `extra` to the simulated provider. */
  readonly extra: Readonly<Record<string, unknown>>;
  /** Run deadline for `timeout` sessions, in ms. */
  readonly timeoutMs?: number;
  /** When the driver cancels a `cancelled` session, in ms after submitting it. */
  readonly cancelAfterMs?: number;
  /** The final state this kind should end in. */
  readonly expected: FinalState;
}

/** Share of each kind, in percent; they add up to 100. */
const MIX: readonly (readonly [LoadKind, number])[] = [
  ['ok', 48],
  ['slow', 12],
  ['stream', 12],
  ['retried', 6],
  ['failing', 8],
  ['cancelled', 7],
  ['timeout', 7],
];

const MODELS = ['sim-fast', 'sim-pro', 'sim-thinker'];

export function planLoad(options: { readonly sessions: number; readonly seed: number }): LoadItem[] {
  const random = seededRandom(options.seed);
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  const items: LoadItem[] = [];
  for (let index = 0; index < options.sessions; index++) {
    const kind = pick(random());
    const priority = random() < 0.15 ? 9 : random() < 0.3 ? 1 : 5;
    const model = MODELS[Math.floor(random() * MODELS.length)]!;
    const base = { index, kind, priority, model, stream: false };
    switch (kind) {
      case 'ok':
        items.push({ ...base, extra: { simulateLatencyMs: between(20, 150) }, expected: 'done' });
        break;
      case 'slow':
        items.push({ ...base, extra: { simulateLatencyMs: between(400, 1200) }, expected: 'done' });
        break;
      case 'stream':
        items.push({
          ...base,
          stream: true,
          extra: { simulateLatencyMs: between(20, 150) },
          expected: 'done',
        });
        break;
      case 'retried':
        // Rate limited on every attempt: retried with backoff, then failed.
        items.push({
          ...base,
          extra: { simulate: 'rate_limited', simulateLatencyMs: 20 },
          expected: 'failed',
        });
        break;
      case 'failing':
        items.push({
          ...base,
          extra: { simulate: 'bad_response', simulateLatencyMs: between(20, 100) },
          expected: 'failed',
        });
        break;
      case 'cancelled':
        items.push({
          ...base,
          extra: { simulate: 'hang' },
          cancelAfterMs: between(100, 500),
          expected: 'cancelled',
        });
        break;
      case 'timeout':
        items.push({
          ...base,
          extra: { simulate: 'hang' },
          timeoutMs: between(200, 600),
          expected: 'timedOut',
        });
        break;
    }
  }
  return items;
}

function pick(r: number): LoadKind {
  let acc = 0;
  for (const [kind, share] of MIX) {
    acc += share / 100;
    if (r < acc) return kind;
  }
  return 'ok';
}

/** What each kind does on purpose, in the words `demo` and `load` print before and after a run. */
export const KIND_DESCRIPTIONS: Readonly<Record<LoadKind, string>> = {
  ok: 'plain call, 20-150 ms',
  slow: 'plain call, 400-1200 ms',
  stream: 'streamed call, 20-150 ms',
  retried: 'injected: the provider answers 429 every time; retried with backoff, then failed',
  failing: 'injected: the provider answers a malformed response; failed',
  cancelled: 'injected: the provider hangs; the driver cancels it 100-500 ms after submitting it',
  timeout: 'injected: the provider hangs; its 200-600 ms deadline times it out',
};

/** The kinds that inject a failure, with their share of the plan in percent. */
export function injectedFaults(): readonly { readonly kind: LoadKind; readonly percent: number }[] {
  return MIX.filter(([kind]) => KIND_DESCRIPTIONS[kind].startsWith('injected')).map(([kind, percent]) => ({
    kind,
    percent,
  }));
}

/** The lines printed before a run: which failures are injected on purpose, and how often. */
export function formatInjected(): string {
  const faults = injectedFaults();
  const share = faults.reduce((sum, f) => sum + f.percent, 0);
  return [
    `Injected on purpose (about ${share}% of sessions are planned not to end done):`,
    ...faults.map(
      (f) =>
        `  ${f.kind.padEnd(10)} ${String(f.percent).padStart(2)}%  ${KIND_DESCRIPTIONS[f.kind].replace('injected: ', '')}`,
    ),
    '',
  ].join('\n');
}
