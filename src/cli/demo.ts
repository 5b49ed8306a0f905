/**
 * `troupe demo`: a mixed load (priorities, slow calls, streams, retries, failures, cancellations,
 * timeouts) through a runtime on the simulated provider, shown live, ending with a summary.
 * Exits 1 if any session did not end exactly once.
 */
import { LiveDisplay } from '../observe/live-display.js';
import { formatInjected, planLoad } from '../observe/load-plan.js';
import { formatReport } from '../observe/load-report.js';
import { RuntimeMonitor } from '../observe/monitor.js';
import { runLoad } from '../observe/run-load.js';
import { createSimulatedProvider } from '../providers/simulated.js';
import { createRuntime } from '../runtime/runtime.js';
import type { RuntimeOptions } from '../runtime/types.js';
import { parseFlags } from './args.js';
import { endOnClosedOutput } from './closed-output.js';
import { onceInterrupted } from './interrupt.js';
import type { Command } from './main.js';

const USAGE = `Usage: troupe demo [--sessions N] [--concurrency C] [--seed S] [--rate R] [--plain]

Runs a mixed load through the runtime on the simulated provider and shows it live. About a quarter
of the sessions fail, time out or are cancelled on purpose (injected faults, listed at the start);
the summary shows how each kind ended. Ctrl-C prints the summary so far. It runs in this process:
a server's dashboard does not show it (\`troupe load --url http://127.0.0.1:7801/mcp\` sends the
same mix to a server on the simulated provider, which its dashboard shows).
  --sessions N      sessions in all (default 200)
  --concurrency C   sessions running at once (default 16)
  --seed S          seed for the load and the provider (default 1)
  --rate R          sessions submitted per second; 0 submits all at once (default 0)
  --plain           plain progress lines even on a terminal
`;

/** Said first: run beside \`npm start\`, the demo left that server's dashboard at zero, unexplained. */
export const IN_THIS_PROCESS =
  "(in this process, on its own runtime: a server's dashboard does not show it; `troupe load --url <server>/mcp` sends the same mix to one)";

/**
 * The runtime the demo's mix runs on: the simulated provider (seeded; a 429 asks for 100 ms), room
 * in the queue for every session, short backoffs, a queue deadline no session reaches.
 * `npm run bench -- mix` runs the same on memory and on Redis.
 */
export function demoRuntimeOptions(o: {
  sessions: number;
  concurrency: number;
  seed: number;
}): RuntimeOptions {
  return {
    providers: [createSimulatedProvider({ seed: o.seed, retryAfterMs: 100 })],
    limits: { maxConcurrent: o.concurrency, maxQueued: o.sessions + 1 },
    defaults: {
      model: 'sim-fast',
      maxAttempts: 3,
      backoffBaseMs: 50,
      backoffMaxMs: 400,
      queueTimeoutMs: 600_000,
    },
  };
}

export const command: Command = {
  summary: 'Run a mixed load on the simulated provider with a live display and a summary',
  async run(argv) {
    const flags = parseFlags(
      'demo',
      argv,
      {
        ints: {
          sessions: { fallback: 200, min: 1, max: 1_000_000 },
          concurrency: { fallback: 16, min: 1, max: 100_000 },
          seed: { fallback: 1, min: 0, max: 2 ** 32 - 1 },
          rate: { fallback: 0, min: 0, max: 1_000_000 },
        },
        booleans: ['plain'],
      },
      USAGE,
    );
    if (!flags.ok) return flags.exitCode;
    const { sessions, concurrency, seed, rate } = flags.ints as Record<
      'sessions' | 'concurrency' | 'seed' | 'rate',
      number
    >;
    endOnClosedOutput();
    const runtime = createRuntime(demoRuntimeOptions({ sessions, concurrency, seed }));
    const monitor = new RuntimeMonitor(runtime);
    const display = new LiveDisplay(process.stdout, flags.booleans.plain ? { tty: false } : {});
    process.stdout.write(
      `troupe demo: ${sessions} sessions, concurrency ${concurrency}, seed ${seed}${rate > 0 ? `, ${rate}/s` : ''}\n${IN_THIS_PROCESS}\n${formatInjected()}`,
    );
    const run = runLoad(runtime, planLoad({ sessions: sessions, seed: seed }), { ratePerSec: rate });
    const frame = () => {
      const c = monitor.counts();
      return {
        ended: run.recorder.finished,
        total: sessions,
        counts: [
          ['queued', c.queued],
          ['calling', c.calling],
          ['streaming', c.streaming],
          ['backingOff', c.backingOff],
          ['done', c.done],
          ['failed', c.failed],
          ['timedOut', c.timedOut],
          ['cancelled', c.cancelled],
        ] as const,
      };
    };
    const timer = setInterval(() => display.update(frame()), display.tty ? 100 : 250);
    const interrupted = onceInterrupted();
    const how = await Promise.race([run.finished.then(() => 'finished' as const), interrupted.signalled]);
    interrupted.dispose();
    clearInterval(timer);
    display.finish(frame());
    if (how === 'interrupted') {
      run.stop();
      process.stdout.write(formatReport(run.recorder.report(true, performance.now(), true)));
      await runtime.shutdown({ deadlineMs: 0 });
      monitor.close();
      // Cancelled sessions settle on their own; nothing is left worth waiting for.
      setTimeout(() => process.exit(130), 200).unref();
      return 130;
    }
    await runtime.shutdown({ deadlineMs: 1000 });
    monitor.close();
    const report = run.recorder.report(true);
    const ended = runtime.metrics().ended;
    const total = ended.done + ended.failed + ended.timedOut + ended.cancelled;
    const problems =
      total === sessions
        ? report.problems
        : [...report.problems, `the runtime counted ${total} ends for ${sessions} sessions`];
    process.stdout.write(formatReport({ ...report, problems }));
    return problems.length === 0 ? 0 : 1;
  },
};
